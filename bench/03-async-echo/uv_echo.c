/*
 * uv_echo — the libuv peer of chapter 03's benchmark: an echo server written the way libuv's own examples write
 * one (a buffer per read from alloc_cb, one uv_write per read, freed in the write callback), plus what a
 * careful libuv user adds: TCP_NODELAY, and reading paused while more than 64 KiB wait to be written.
 *
 *   uv_echo [PORT]   (0 or none: an ephemeral port). Prints "listening on 127.0.0.1:PORT". SIGTERM/SIGINT stop it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define READ_SIZE 65536
#define HIGH_WATER (64 * 1024)

typedef struct echo_write {
    uv_write_t req;
    uv_buf_t buf;
} echo_write;

static void on_close(uv_handle_t *h) { free(h); }

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = malloc(READ_SIZE);
    buf->len = buf->base ? READ_SIZE : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void on_written(uv_write_t *req, int status)
{
    /* SAFETY: req is the first member of the echo_write allocated in on_read. */
    echo_write *w = (echo_write *)req;
    uv_stream_t *s = req->handle;
    free(w->buf.base);
    free(w);
    if (status == 0 && uv_stream_get_write_queue_size(s) < HIGH_WATER && !uv_is_closing((uv_handle_t *)s))
        uv_read_start(s, on_alloc, on_read); /* no-op error if already reading */
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    if (n <= 0) {
        free(buf->base);
        if (n < 0 && !uv_is_closing((uv_handle_t *)s))
            uv_close((uv_handle_t *)s, on_close); /* EOF or error: queued writes are cancelled */
        return;
    }
    echo_write *w = malloc(sizeof *w);
    if (!w) {
        free(buf->base);
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    w->buf = uv_buf_init(buf->base, (unsigned)n);
    if (uv_write(&w->req, s, &w->buf, 1, on_written) != 0) {
        free(buf->base);
        free(w);
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (uv_stream_get_write_queue_size(s) >= HIGH_WATER)
        uv_read_stop(s); /* backpressure: the peer is not reading */
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    uv_tcp_t *c = malloc(sizeof *c);
    if (!c)
        return;
    uv_tcp_init(server->loop, c);
    if (uv_accept(server, (uv_stream_t *)c) != 0) {
        uv_close((uv_handle_t *)c, on_close);
        return;
    }
    uv_tcp_nodelay(c, 1);
    uv_read_start((uv_stream_t *)c, on_alloc, on_read);
}

static void on_signal(uv_signal_t *h, int sig)
{
    (void)sig;
    uv_stop(h->loop);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 0;
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in addr;
    uv_tcp_init(loop, &server);
    uv_ip4_addr("127.0.0.1", port, &addr);
    /* SAFETY: sockaddr_in is the AF_INET form of sockaddr. */
    int rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&server, SOMAXCONN, on_connection);
    if (rc != 0) {
        fprintf(stderr, "uv_echo: %s\n", uv_strerror(rc));
        return 1;
    }
    int len = sizeof addr;
    uv_tcp_getsockname(&server, (struct sockaddr *)&addr, &len);
    printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    uv_signal_t sigterm, sigint;
    uv_signal_init(loop, &sigterm);
    uv_signal_init(loop, &sigint);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}
