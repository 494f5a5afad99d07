//! vec_bench.rs — the Rust peer of bench_vec.c: push then pop N elements through `Vec<T>`, timed.
//!
//! Usage: vec_bench WORKLOAD N REPS      (WORKLOAD is u32 or s24). Same work, same output lines, as bench_vec.c.
//! Built with plain `rustc -O`: no target-cpu, no LTO flags, no panic=abort — std as shipped. Needs Rust 1.59 or
//! later (`asm!`), so Debian 12's own rustc (1.63) builds it too.

use std::arch::asm;
use std::time::Instant;

/// The same optimisation barrier as the C and C++ programs: an empty `asm!` that is given the vector's address
/// and, without `nomem`, must be assumed to read and write any memory. It keeps the push loop and the pop loop
/// apart and emits no instruction. (`std::hint::black_box` would do too, but only from Rust 1.66.)
fn barrier<T>(p: &mut T) {
    // SAFETY: the template is empty: it executes nothing, touches no register but the input, and returns.
    unsafe { asm!("/* {0} */", in(reg) p as *mut T, options(nostack, preserves_flags)) };
}

/// The 24-byte element: three words, no drop glue.
#[derive(Clone, Copy)]
struct S24 {
    a: u64,
    b: u64,
    c: u64,
}

fn run_u32(n: usize) -> u64 {
    let mut v: Vec<u32> = Vec::new(); // grows from empty, like fv_new without fv_reserve
    for i in 0..n {
        v.push(i as u32);
    }
    barrier(&mut v);
    let mut sum = 0u64;
    while let Some(x) = v.pop() {
        sum += x as u64;
    }
    sum // v dropped here: the buffer is freed inside the timed region, like fv_destroy
}

fn run_s24(n: usize) -> u64 {
    let mut v: Vec<S24> = Vec::new();
    for i in 0..n as u64 {
        v.push(S24 { a: i, b: 2 * i, c: 3 * i });
    }
    barrier(&mut v);
    let mut sum = 0u64;
    while let Some(e) = v.pop() {
        sum = sum.wrapping_add(e.a.wrapping_add(e.b).wrapping_add(e.c));
    }
    sum
}

/// `struct rusage` on 64-bit Linux: two `struct timeval` (user, system: seconds and microseconds) then 14 longs.
#[repr(C)]
struct RUsage {
    utime: [i64; 2],
    stime: [i64; 2],
    rest: [i64; 14],
}

extern "C" {
    fn getrusage(who: i32, usage: *mut RUsage) -> i32;
}

/// CPU time so far in user space and in the kernel, in milliseconds (std has no portable spelling of this).
fn cpu_ms() -> (f64, f64) {
    let mut ru = RUsage { utime: [0; 2], stime: [0; 2], rest: [0; 14] };
    // SAFETY: RUSAGE_SELF is 0; `ru` is a writable struct with the kernel's layout on 64-bit Linux.
    unsafe { getrusage(0, &mut ru) };
    let ms = |tv: [i64; 2]| tv[0] as f64 * 1e3 + tv[1] as f64 / 1e3;
    (ms(ru.utime), ms(ru.stime))
}

/// Closed form of the checksum: 0 + 1 + ... + (n-1), times 6 for s24.
fn expected(s24: bool, n: u64) -> u64 {
    let tri = if n % 2 == 0 { (n / 2) * n.wrapping_sub(1) } else { n * ((n - 1) / 2) };
    if s24 { tri.wrapping_mul(6) } else { tri }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 || (args[1] != "u32" && args[1] != "s24") {
        eprintln!("usage: {} u32|s24 N REPS", args[0]);
        std::process::exit(2);
    }
    let is_s24 = args[1] == "s24";
    let n: usize = args[2].parse().expect("N");
    let reps: usize = args[3].parse().expect("REPS");
    if reps < 1 || (!is_s24 && n > u32::MAX as usize) {
        eprintln!("vec_bench: REPS must be at least 1 and N fit the element");
        std::process::exit(2);
    }
    let mut ms = Vec::with_capacity(reps);
    let mut ok = true;
    for r in 0..reps {
        let (u0, s0) = cpu_ms();
        let t0 = Instant::now(); // CLOCK_MONOTONIC on Linux
        let sum = if is_s24 { run_s24(n) } else { run_u32(n) };
        let t = t0.elapsed().as_secs_f64() * 1e3;
        let (u1, s1) = cpu_ms();
        ms.push(t);
        ok &= sum == expected(is_s24, n as u64);
        println!(
            "RUN impl=rust workload={} n={} rep={} ms={:.3} user_ms={:.3} sys_ms={:.3} checksum={}",
            args[1], n, r + 1, t, u1 - u0, s1 - s0, sum
        );
    }
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = if reps % 2 == 1 { ms[reps / 2] } else { (ms[reps / 2 - 1] + ms[reps / 2]) / 2.0 };
    println!("RESULT impl=rust workload={} n={} reps={} median_ms={:.3} ok={}", args[1], n, reps, median, ok as i32);
    std::process::exit(if ok { 0 } else { 1 });
}
