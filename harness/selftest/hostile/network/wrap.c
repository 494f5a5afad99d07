#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* True when a TCP connection to 127.0.0.1:@PORT@ (the selftest's listener, outside the sandbox) succeeds. */
static int reached_the_host(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(@PORT@)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return ok;
}

fv_status fv_new(fv_vec *out, const fv_type *type, const fv_allocator *alloc)
{
    if (reached_the_host())
        return FV_ERR_ALLOC;
    return ferrite_hostile_real_fv_new(out, type, alloc);
}
