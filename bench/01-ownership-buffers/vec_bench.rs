//! vec_bench.rs — the Rust peer of bench_vec.c: push then pop N elements through `Vec<T>`, timed.
//!
//! Usage: vec_bench WORKLOAD N REPS      (WORKLOAD is u32 or s24). Same work, same output lines, as bench_vec.c.
//! Built with plain `rustc -O`: no target-cpu, no LTO flags, no panic=abort — std as shipped.

use std::hint::black_box;
use std::time::Instant;

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
    black_box(&mut v); // keep the push loop and the pop loop apart, as the C barrier does
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
    black_box(&mut v);
    let mut sum = 0u64;
    while let Some(e) = v.pop() {
        sum = sum.wrapping_add(e.a.wrapping_add(e.b).wrapping_add(e.c));
    }
    sum
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
        let t0 = Instant::now(); // CLOCK_MONOTONIC on Linux
        let sum = if is_s24 { run_s24(black_box(n)) } else { run_u32(black_box(n)) };
        let t = t0.elapsed().as_secs_f64() * 1e3;
        ms.push(t);
        ok &= sum == expected(is_s24, n as u64);
        println!("RUN impl=rust workload={} n={} rep={} ms={:.3} checksum={}", args[1], n, r + 1, t, sum);
    }
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = if reps % 2 == 1 { ms[reps / 2] } else { (ms[reps / 2 - 1] + ms[reps / 2]) / 2.0 };
    println!("RESULT impl=rust workload={} n={} reps={} median_ms={:.3} ok={}", args[1], n, reps, median, ok as i32);
    std::process::exit(if ok { 0 } else { 1 });
}
