#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* True when a connection to the Unix socket `path` succeeds (abstract: the name goes after a NUL byte). */
static int reached(const char *path, int abstract)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strncpy(addr.sun_path + abstract, path, sizeof addr.sun_path - 1 - (size_t)abstract);
    socklen_t size = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)abstract + strlen(path));
    int ok = connect(fd, (struct sockaddr *)&addr, size) == 0;
    if (ok)
        (void)send(fd, "reached\n", 8, MSG_NOSIGNAL);
    close(fd);
    return ok;
}

fv_status fv_new(fv_vec *out, const fv_type *type, const fv_allocator *alloc)
{
    if (reached("@VAR_TMP_SOCKET@", 0) + reached("@RUN_SOCKET@", 0) + reached("@ABSTRACT_SOCKET@", 1))
        return FV_ERR_ALLOC;
    return ferrite_hostile_real_fv_new(out, type, alloc);
}
