/*
 * Part 3: typed wrappers. Each is run beside libc on the same inputs: the same bytes, the same pid, the same
 * offsets, and the same error numbers where libc sets errno (a bad descriptor, a missing file, a bad pointer).
 */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

FT_PART(3, "typed wrappers, compared with libc");

/* Fails unless r is the error want_err and libc's call gave -1 with errno want_err. */
#define ASSERT_ERR_LIKE_LIBC(what, r, libc_ret, libc_errno, want_err)                                        \
    do {                                                                                                     \
        sys_result r_ = (r);                                                                                 \
        ck_assert_msg(r_.err == (want_err) && r_.value == 0, "%s = {value %lu, err %d}, want {0, %d}", what, \
                      (unsigned long)r_.value, r_.err, (want_err));                                          \
        ck_assert_msg((libc_ret) == -1 && (libc_errno) == (want_err), "%s: libc gave %ld, errno %d", what,   \
                      (long)(libc_ret), (libc_errno));                                                       \
    } while (0)

/* Fails unless r is a success; returns its value. */
static uintptr_t ok_value(sys_result r, const char *what)
{
    ck_assert_msg(r.err == 0, "%s failed with error %d", what, r.err);
    return r.value;
}

FT_TEST(3, getpid_matches_libc, 1, "sys_getpid: call 0 arguments with SYS_NR_getpid and demux the answer.")
{
    ck_assert_uint_eq(ok_value(sys_getpid(), "sys_getpid"), (uintptr_t)getpid());
}

FT_TEST(3, read_returns_the_bytes_libc_reads, 3,
        "sys_read(fd, buf, len) is read(2): same count, same bytes, same file offset afterwards; 0 at end of "
        "file is a value, not an error.")
{
    scratch_setup();
    int a = open(scratch_file, O_RDONLY | O_CLOEXEC), b = open(scratch_file, O_RDONLY | O_CLOEXEC);
    char mine[16] = "", theirs[16] = "";
    ck_assert_uint_eq(ok_value(sys_read(a, mine, 10), "sys_read"), (uintptr_t)read(b, theirs, 10));
    ck_assert_mem_eq(mine, theirs, 10);
    ck_assert_mem_eq(mine, "0123456789", 10);
    ck_assert_int_eq(lseek(a, 0, SEEK_CUR), 10);
    ck_assert_int_eq(lseek(a, 0, SEEK_END), DATA_SIZE);
    sys_result eof = sys_read(a, mine, sizeof mine);
    ck_assert_msg(eof.err == 0 && eof.value == 0, "read at end of file = {%lu, %d}, want {0, 0}", (unsigned long)eof.value,
                  eof.err);
    close(a);
    close(b);
    scratch_teardown();
}

FT_TEST(3, write_reports_the_count_and_the_bytes_arrive, 2,
        "sys_write returns the number of bytes written; they must arrive in the pipe unchanged.")
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    ck_assert_uint_eq(ok_value(sys_write(p[1], "hello", 5), "sys_write"), 5);
    char buf[8] = "";
    ck_assert_int_eq(read(p[0], buf, sizeof buf), 5);
    ck_assert_mem_eq(buf, "hello", 5);
    close(p[0]);
    close(p[1]);
}

FT_TEST(3, openat_opens_relative_to_a_directory_descriptor, 2,
        "openat(dirfd, \"data\", ...) resolves the path from dirfd; AT_FDCWD (-100) must reach the kernel as a "
        "negative number. The descriptor returned must read the file.")
{
    scratch_setup();
    int dir = open(scratch_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = (int)ok_value(sys_openat(dir, "data", SYS_O_RDONLY | SYS_O_CLOEXEC, 0), "sys_openat(dirfd, \"data\")");
    char buf[4] = "";
    ck_assert_int_eq(read(fd, buf, 4), 4);
    ck_assert_mem_eq(buf, "0123", 4);
    close(fd);
    fd = (int)ok_value(sys_openat(SYS_AT_FDCWD, scratch_file, SYS_O_RDONLY, 0), "sys_openat(AT_FDCWD, path)");
    ck_assert_int_eq(fcntl(fd, F_GETFD), 0); /* no O_CLOEXEC asked: none set */
    close(fd);
    close(dir);
    scratch_teardown();
}

FT_TEST(3, openat_creates_with_the_mode_given_fourth, 2,
        "openat has four arguments: the mode is the 4th, so the wrapper needs sys_call4 (r10). With umask 0, "
        "O_CREAT and mode 0640 must create a file with exactly those permissions.")
{
    scratch_setup();
    char path[300];
    snprintf(path, sizeof path, "%s/created", scratch_dir);
    mode_t old = umask(0);
    sys_result r = sys_openat(SYS_AT_FDCWD, path, SYS_O_CREAT | SYS_O_WRONLY | SYS_O_CLOEXEC, 0640);
    umask(old);
    int fd = (int)ok_value(r, "sys_openat(O_CREAT, 0640)");
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_msg((st.st_mode & 07777) == 0640, "created with mode %04o, want 0640", (unsigned)(st.st_mode & 07777));
    close(fd);
    scratch_teardown();
}

FT_TEST(3, openat_missing_file_is_enoent_like_libc, 2, "A failed call comes back as {0, ENOENT}; errno plays no part.")
{
    sys_result r = sys_openat(SYS_AT_FDCWD, "/nonexistent/ferrite", SYS_O_RDONLY, 0);
    int lr = openat(AT_FDCWD, "/nonexistent/ferrite", O_RDONLY);
    ASSERT_ERR_LIKE_LIBC("sys_openat(missing)", r, lr, errno, SYS_ENOENT);
}

FT_TEST(3, close_releases_the_descriptor_and_a_second_close_is_ebadf, 2,
        "sys_close returns 0 once; the number is then free, and closing it again is EBADF, as with libc.")
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    ck_assert_uint_eq(ok_value(sys_close(p[0]), "sys_close"), 0);
    ck_assert_int_eq(fcntl(p[0], F_GETFD), -1);
    sys_result again = sys_close(p[0]);
    int lr = close(p[0]);
    ASSERT_ERR_LIKE_LIBC("second sys_close", again, lr, errno, SYS_EBADF);
    close(p[1]);
}

FT_TEST(3, lseek_matches_libc_for_set_cur_and_negative_offsets, 3,
        "The offset is a signed 64-bit number: -4 must reach the kernel as 0xFFFFFFFFFFFFFFFC (sign extension: "
        "convert by value, never through unsigned int). The result is the new offset from the start.")
{
    scratch_setup();
    int a = open(scratch_file, O_RDONLY | O_CLOEXEC), b = open(scratch_file, O_RDONLY | O_CLOEXEC);
    ck_assert_uint_eq(ok_value(sys_lseek(a, 100, SYS_SEEK_SET), "SEEK_SET 100"), (uintptr_t)lseek(b, 100, SEEK_SET));
    ck_assert_uint_eq(ok_value(sys_lseek(a, -30, SYS_SEEK_CUR), "SEEK_CUR -30"), (uintptr_t)lseek(b, -30, SEEK_CUR));
    ck_assert_uint_eq(ok_value(sys_lseek(a, -4, SYS_SEEK_END), "SEEK_END -4"), (uintptr_t)lseek(b, -4, SEEK_END));
    ck_assert_int_eq(lseek(a, 0, SEEK_CUR), DATA_SIZE - 4);
    ck_assert_uint_eq(ok_value(sys_lseek(a, (int64_t)1 << 40, SYS_SEEK_SET), "SEEK_SET 2^40"), (uintptr_t)1 << 40);
    sys_result neg = sys_lseek(a, -1, SYS_SEEK_SET);
    off_t lr = lseek(b, -1, SEEK_SET);
    ASSERT_ERR_LIKE_LIBC("sys_lseek(-1, SEEK_SET)", neg, lr, errno, SYS_EINVAL);
    close(a);
    close(b);
    scratch_teardown();
}

FT_TEST(3, lseek_on_a_pipe_is_espipe_like_libc, 1, "A pipe cannot seek: the kernel answers ESPIPE, as a value.")
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    sys_result r = sys_lseek(p[0], 0, SYS_SEEK_SET);
    off_t lr = lseek(p[0], 0, SEEK_SET);
    ASSERT_ERR_LIKE_LIBC("sys_lseek(pipe)", r, lr, errno, SYS_ESPIPE);
    close(p[0]);
    close(p[1]);
}

FT_TEST(3, pipe2_fills_both_ends_and_honours_cloexec, 2,
        "pipe2(fds, flags): the kernel writes two ints through the pointer; pass the flags too.")
{
    int p[2] = {-1, -1};
    ck_assert_uint_eq(ok_value(sys_pipe2(p, SYS_O_CLOEXEC), "sys_pipe2"), 0);
    ck_assert_msg(p[0] > 2 && p[1] > 2 && p[0] != p[1], "fds = {%d, %d}", p[0], p[1]);
    ck_assert_int_eq(fcntl(p[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    ck_assert_int_eq(write(p[1], "z", 1), 1);
    char c = 0;
    ck_assert_int_eq(read(p[0], &c, 1), 1);
    ck_assert_int_eq(c, 'z');
    close(p[0]);
    close(p[1]);
    int q[2] = {-1, -1};
    ck_assert_uint_eq(ok_value(sys_pipe2(q, 0), "sys_pipe2(0)"), 0);
    ck_assert_int_eq(fcntl(q[0], F_GETFD), 0);
    close(q[0]);
    close(q[1]);
}

FT_TEST(3, mmap_anonymous_gives_zeroed_page_aligned_memory_until_munmap, 2,
        "sys_mmap passes six arguments (fd -1 with MAP_ANONYMOUS). The address is a value, however high.")
{
    uintptr_t a = ok_value(
        sys_mmap(NULL, 3 * 4096, SYS_PROT_READ | SYS_PROT_WRITE, SYS_MAP_PRIVATE | SYS_MAP_ANONYMOUS, -1, 0), "sys_mmap");
    ck_assert_uint_eq(a % 4096, 0);
    unsigned char *mem = (unsigned char *)a;
    for (size_t i = 0; i < 3 * 4096; i += 512)
        ck_assert_uint_eq(mem[i], 0);
    mem[0] = 1;
    mem[3 * 4096 - 1] = 2;
    ck_assert_uint_eq(ok_value(sys_munmap(mem, 3 * 4096), "sys_munmap"), 0);
    unsigned char resident[3];
    ck_assert_int_eq(mincore(mem, 3 * 4096, resident), -1); /* no longer mapped */
    ck_assert_int_eq(errno, ENOMEM);
}

FT_TEST(3, mmap_maps_a_file_from_the_offset_given_sixth, 2,
        "fd and offset are mmap's 5th and 6th arguments; mapping the file at 4096 must show page 1 (all 'b'). "
        "The offset is 64-bit: 4 GiB + 4096 must not be cut to 4096.")
{
    scratch_setup();
    int fd = open(scratch_file, O_RDWR | O_CLOEXEC);
    uintptr_t a = ok_value(sys_mmap(NULL, 4096, SYS_PROT_READ, SYS_MAP_PRIVATE, fd, 4096), "sys_mmap(file)");
    const char *page = (const char *)a;
    ck_assert_msg(page[0] == 'b' && page[4095] == 'b', "the mapping starts with '%c', want 'b'", page[0]);
    ck_assert_uint_eq(ok_value(sys_munmap((void *)a, 4096), "sys_munmap"), 0);

    const off_t far = ((off_t)1 << 32) + 4096; /* a sparse page beyond 4 GiB */
    ck_assert_int_eq(pwrite(fd, "dddd", 4, far), 4);
    a = ok_value(sys_mmap(NULL, 4096, SYS_PROT_READ, SYS_MAP_PRIVATE, fd, far), "sys_mmap(file, 4 GiB + 4096)");
    page = (const char *)a;
    ck_assert_msg(page[0] == 'd', "the mapping at offset 4 GiB + 4096 starts with '%c', want 'd'", page[0]);
    ck_assert_uint_eq(ok_value(sys_munmap((void *)a, 4096), "sys_munmap"), 0);
    close(fd);
    scratch_teardown();
}

FT_TEST(3, mmap_and_munmap_errors_match_libc, 2,
        "Length 0 is EINVAL, a file mapping of a closed descriptor EBADF, munmap of an unaligned address EINVAL: "
        "each as {0, err}, never as an address.")
{
    sys_result r = sys_mmap(NULL, 0, SYS_PROT_READ, SYS_MAP_PRIVATE | SYS_MAP_ANONYMOUS, -1, 0);
    void *lp = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_ERR_LIKE_LIBC("sys_mmap(len 0)", r, lp == MAP_FAILED ? -1 : 0, errno, SYS_EINVAL);
    r = sys_mmap(NULL, 4096, SYS_PROT_READ, SYS_MAP_PRIVATE, 1000, 0);
    lp = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 1000, 0);
    ASSERT_ERR_LIKE_LIBC("sys_mmap(closed fd)", r, lp == MAP_FAILED ? -1 : 0, errno, SYS_EBADF);
    static char aligned[8192] __attribute__((aligned(4096)));
    r = sys_munmap(aligned + 1, 4096);
    int lr = munmap(aligned + 1, 4096);
    ASSERT_ERR_LIKE_LIBC("sys_munmap(unaligned)", r, lr, errno, SYS_EINVAL);
}

FT_TEST(3, bad_descriptor_is_ebadf_for_read_write_and_close_like_libc, 1,
        "fd -1 must reach the kernel as -1 (sign-extended) and come back as {0, EBADF}.")
{
    char buf[4];
    sys_result r = sys_read(-1, buf, 1);
    ssize_t lr = read(-1, buf, 1);
    ASSERT_ERR_LIKE_LIBC("sys_read(-1)", r, lr, errno, SYS_EBADF);
    r = sys_write(-1, "x", 1);
    lr = write(-1, "x", 1);
    ASSERT_ERR_LIKE_LIBC("sys_write(-1)", r, lr, errno, SYS_EBADF);
    r = sys_close(-1);
    lr = close(-1);
    ASSERT_ERR_LIKE_LIBC("sys_close(-1)", r, lr, errno, SYS_EBADF);
}

FT_TEST(3, efault_pointer_is_efault_like_libc, 2,
        "The kernel checks every user pointer: a buffer the process cannot access gives EFAULT, as a value; "
        "nothing crashes.")
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    ck_assert_int_eq(write(p[1], "ab", 2), 2);
    void *bad = efault_page();
    sys_result r = sys_read(p[0], bad, 1);
    ssize_t lr = read(p[0], bad, 1);
    ASSERT_ERR_LIKE_LIBC("sys_read(into a PROT_NONE page)", r, lr, errno, SYS_EFAULT);
    r = sys_write(p[1], bad, 1);
    lr = write(p[1], bad, 1);
    ASSERT_ERR_LIKE_LIBC("sys_write(from a PROT_NONE page)", r, lr, errno, SYS_EFAULT);
    r = sys_pipe2(bad, 0);
    lr = pipe2(bad, 0);
    ASSERT_ERR_LIKE_LIBC("sys_pipe2(PROT_NONE page)", r, lr, errno, SYS_EFAULT);
    munmap(bad, 4096);
    close(p[0]);
    close(p[1]);
}

FT_TEST(3, errno_is_never_written, 1,
        "Errors come back in the result; the wrappers must not store them in errno (nor clear it on success).")
{
    errno = 4321;
    char buf[4];
    ck_assert_int_eq(sys_read(-1, buf, 1).err, SYS_EBADF);
    ck_assert_int_eq(sys_openat(SYS_AT_FDCWD, "/nonexistent/ferrite", SYS_O_RDONLY, 0).err, SYS_ENOENT);
    ck_assert_uint_eq(ok_value(sys_getpid(), "sys_getpid"), (uintptr_t)getpid());
    ck_assert_int_eq(errno, 4321);
}

FT_TEST(3, exit_group_ends_the_process_with_its_status, 2,
        "exit_group(status) ends every thread at once; the low 8 bits of status reach the parent. It never "
        "returns: nothing after the call may run.")
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        sys_exit_group(7);
        _exit(99); /* not reached when sys_exit_group works */
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 7, "the child %s, want exit status 7",
                  describe_status(status));
}
