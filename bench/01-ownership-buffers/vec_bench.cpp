// vec_bench.cpp — the C++ peer of bench_vec.c: push then pop N elements through std::vector, timed.
//
// Usage: vec_bench_cpp WORKLOAD N REPS      (WORKLOAD is u32 or s24). Same work, same output lines, as bench_vec.c.
// Built with g++ -O2 and the default allocator. Note: std::vector grows by allocate-copy-free (it never calls
// realloc), where Rust's Vec and the fv_ vector ask realloc, which can move large blocks by remapping pages.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <sys/resource.h>

namespace {

struct S24 {  // the 24-byte element: three words, trivially copyable
    uint64_t a, b, c;
};

// Same role as the C barrier: the vector's memory is assumed read and written here. Emits no instruction.
template <typename T>
void barrier(T *p) { asm volatile("" : : "r"(p) : "memory"); }

uint64_t run_u32(size_t n) {
    std::vector<uint32_t> v;  // grows from empty: no reserve
    for (size_t i = 0; i < n; i++)
        v.push_back(static_cast<uint32_t>(i));
    barrier(&v);
    uint64_t sum = 0;
    while (!v.empty()) {
        sum += v.back();
        v.pop_back();
    }
    return sum;  // v destroyed here, inside the timed region
}

uint64_t run_s24(size_t n) {
    std::vector<S24> v;
    for (uint64_t i = 0; i < n; i++)
        v.push_back(S24{i, 2 * i, 3 * i});
    barrier(&v);
    uint64_t sum = 0;
    while (!v.empty()) {
        const S24 e = v.back();
        v.pop_back();
        sum += e.a + e.b + e.c;
    }
    return sum;
}

// CPU time so far in user space and in the kernel, in milliseconds (see bench_vec.c for why both).
void cpu_ms(double *user, double *sys) {
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = static_cast<double>(ru.ru_utime.tv_sec) * 1e3 + static_cast<double>(ru.ru_utime.tv_usec) / 1e3;
    *sys = static_cast<double>(ru.ru_stime.tv_sec) * 1e3 + static_cast<double>(ru.ru_stime.tv_usec) / 1e3;
}

uint64_t expected(bool s24, uint64_t n) {  // 0 + 1 + ... + (n-1), times 6 for s24
    uint64_t tri = n % 2 == 0 ? (n / 2) * (n - 1) : n * ((n - 1) / 2);
    return s24 ? 6 * tri : tri;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 4 || (std::strcmp(argv[1], "u32") != 0 && std::strcmp(argv[1], "s24") != 0)) {
        std::fprintf(stderr, "usage: %s u32|s24 N REPS\n", argv[0]);
        return 2;
    }
    const bool is_s24 = std::strcmp(argv[1], "s24") == 0;
    const size_t n = std::strtoull(argv[2], nullptr, 10);
    const int reps = std::atoi(argv[3]);
    if (reps < 1 || reps > 1000 || (!is_s24 && n > UINT32_MAX)) {
        std::fprintf(stderr, "vec_bench_cpp: REPS must be 1..1000 and N fit the element\n");
        return 2;
    }
    std::vector<double> ms;
    bool ok = true;
    for (int r = 0; r < reps; r++) {
        double u0, s0, u1, s1;
        cpu_ms(&u0, &s0);
        const auto t0 = std::chrono::steady_clock::now();  // CLOCK_MONOTONIC with libstdc++
        const uint64_t sum = is_s24 ? run_s24(n) : run_u32(n);
        const std::chrono::duration<double, std::milli> t = std::chrono::steady_clock::now() - t0;
        cpu_ms(&u1, &s1);
        ms.push_back(t.count());
        ok = ok && sum == expected(is_s24, n);
        std::printf("RUN impl=cpp workload=%s n=%zu rep=%d ms=%.3f user_ms=%.3f sys_ms=%.3f checksum=%" PRIu64 "\n",
                    argv[1], n, r + 1, t.count(), u1 - u0, s1 - s0, sum);
    }
    std::sort(ms.begin(), ms.end());
    const double median = reps % 2 ? ms[reps / 2] : (ms[reps / 2 - 1] + ms[reps / 2]) / 2;
    std::printf("RESULT impl=cpp workload=%s n=%zu reps=%d median_ms=%.3f ok=%d\n", argv[1], n, reps, median, ok);
    return ok ? 0 : 1;
}
