//! Chapter 04 benchmark, rayon side: tiny tasks through `rayon::scope` + `Scope::spawn`, and submit-to-run
//! latency through `rayon::spawn`. Prints one `RUN ...` line per measurement, like the C programs.
//!
//!   wp-rayon-peer spawn <producers> <tasks>     producers spawn tasks/producers each, inside one scope
//!   wp-rayon-peer latency <samples> [histogram] one task at a time, time from spawn to first instruction;
//!                                               `histogram` adds the same `HIST` lines as bench_pool.c
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

fn spawn_bench(producers: usize, tasks: usize) {
    let counter = AtomicUsize::new(0);
    let per = tasks / producers;
    let start = Instant::now();
    rayon::scope(|s| {
        for p in 0..producers {
            let counter = &counter;
            // Each producer is itself a task that spawns its share: with one producer this is exactly
            // `scope(|s| for i in 0..n { s.spawn(move |_| counter.fetch_add(i)) })`.
            s.spawn(move |s| {
                for i in p * per..(p + 1) * per {
                    s.spawn(move |_| {
                        counter.fetch_add(i, Ordering::Relaxed);
                    });
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let n = per * producers;
    let want = n * (n - 1) / 2;
    let got = counter.load(Ordering::Relaxed);
    assert_eq!(got, want, "wrong sum: a task was lost or run twice");
    println!(
        "RUN mode=spawn producers={} tasks={} ms={:.3} tasks_per_s={:.0} sum_ok=1",
        producers, n, secs * 1e3, n as f64 / secs
    );
}

fn latency_bench(samples: usize, histogram: bool) {
    let mut lat: Vec<f64> = Vec::with_capacity(samples);
    let origin = Instant::now();
    for _ in 0..samples {
        let started = Arc::new(AtomicU64::new(0));
        let flag = Arc::clone(&started);
        let t0 = origin.elapsed().as_nanos() as u64;
        rayon::spawn(move || {
            flag.store(origin.elapsed().as_nanos() as u64 + 1, Ordering::Release);
        });
        let t1 = loop {
            let v = started.load(Ordering::Acquire);
            if v != 0 {
                break v - 1;
            }
            std::hint::spin_loop();
        };
        lat.push((t1.saturating_sub(t0)) as f64 / 1e3);
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pick = |q: f64| lat[((lat.len() - 1) as f64 * q) as usize];
    println!("RUN mode=latency samples={} p50_us={:.2} p99_us={:.2}", samples, pick(0.5), pick(0.99));
    if histogram {
        print_histogram(&lat);
        println!("TAIL p90_us={:.2} p999_us={:.2} max_us={:.2}", pick(0.9), pick(0.999), lat[lat.len() - 1]);
    }
}

/// One `HIST lo_us hi_us count` line per non-empty bucket of the sorted samples: bench_pool.c's buckets.
fn print_histogram(sorted: &[f64]) {
    const EDGES: [f64; 19] =
        [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0, 96.0, 128.0, 256.0, 512.0, 1024.0];
    let mut count = [0usize; EDGES.len() + 1];
    let mut b = 0;
    for &x in sorted {
        while b < EDGES.len() && x >= EDGES[b] {
            b += 1;
        }
        count[b] += 1;
    }
    for (b, &n) in count.iter().enumerate() {
        if n > 0 {
            let lo = if b == 0 { 0.0 } else { EDGES[b - 1] };
            let hi = if b < EDGES.len() { EDGES[b] } else { f64::INFINITY };
            println!("HIST {} {} {}", lo, if hi.is_finite() { hi.to_string() } else { "inf".into() }, n);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |i: usize, d: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    // Warm the global pool up so thread start-up is not timed.
    rayon::scope(|s| s.spawn(|_| {}));
    match args.get(1).map(String::as_str) {
        Some("spawn") => spawn_bench(num(2, 1).max(1), num(3, 1_000_000)),
        Some("latency") => latency_bench(num(2, 2000), args.get(3).map(String::as_str) == Some("histogram")),
        _ => {
            eprintln!("usage: wp-rayon-peer spawn <producers> <tasks> | latency <samples> [histogram]");
            std::process::exit(2);
        }
    }
}
