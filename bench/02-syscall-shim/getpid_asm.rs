// Chapter 02 benchmark peer: the same loop in Rust, getpid through an `asm!` block written the way Redox's
// syscall crate writes its syscall0 (number in rax, rcx and r11 declared clobbered) followed by the same demux,
// and through std.
//
//   getpid_asm MODE N     MODE: baseline | asm | std
use std::arch::asm;
use std::hint::black_box;

#[inline(always)]
unsafe fn syscall0(n: usize) -> usize {
    let ret: usize;
    // SAFETY: getpid reads no memory and cannot fail; rcx and r11 are declared, memory is assumed touched
    // (no `nomem`), the stack is not used.
    unsafe {
        asm!("syscall", inlateout("rax") n => ret, lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

// The demux Redox applies to every raw result: [-4095, -1] is an error, anything else a value.
#[inline(always)]
fn demux(raw: usize) -> Result<usize, i32> {
    if raw > usize::MAX - 4095 { Err(raw.wrapping_neg() as i32) } else { Ok(raw) }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: getpid_asm baseline|asm|std N");
        std::process::exit(2);
    }
    let n: usize = args[2].parse().expect("N must be a number");
    let mut sum: usize = 0;
    match args[1].as_str() {
        "baseline" => (0..n).for_each(|i| sum = black_box(sum.wrapping_add(i))),
        // 39 is getpid on x86_64 Linux.
        "asm" => (0..n).for_each(|_| {
            let pid = demux(unsafe { syscall0(39) }).unwrap_or(0);
            sum = black_box(sum.wrapping_add(pid))
        }),
        "std" => (0..n).for_each(|_| sum = black_box(sum.wrapping_add(std::process::id() as usize))),
        m => {
            eprintln!("getpid_asm: unknown mode {m}");
            std::process::exit(2);
        }
    }
    if args[1] != "baseline" && n > 0 && sum != n * std::process::id() as usize {
        eprintln!("getpid_asm: {} returned something other than the pid", args[1]);
        std::process::exit(1);
    }
}
