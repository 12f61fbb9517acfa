//! A single-thread pool built where the program is configured and moved to
//! the thread that uses it: here a stand-in for an audio callback, which
//! audio libraries run on their own thread and require to be
//! `Send + 'static`. The pool needs no lock: only that thread uses it.
//!
//! cargo run --example send

use fastalloc::{FixedGuard, PoolBuilder};
use std::sync::mpsc;

const FRAME: usize = 256;

/// What an audio library would call on its own thread, once per period.
type Callback = Box<dyn FnMut(usize) -> f32 + Send + 'static>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Built on the main thread: every frame allocated up front, zeroed as it
    // comes back, and frames that somehow grew are dropped, not kept.
    let frames = PoolBuilder::new(|| vec![0.0f32; FRAME])
        .capacity(4)
        .pre_initialize(true)
        .reset(|frame: &mut Vec<f32>| frame.fill(0.0))
        .recycle_if(|frame: &Vec<f32>| frame.capacity() == FRAME)
        .statistics(true)
        .build_fixed_send()?;

    // The callback owns the pool: moved into a `Send + 'static` closure.
    let (report, reports) = mpsc::channel();
    let mut callback: Callback = Box::new(move |period| {
        let mut frame = frames.get().expect("4 frames, one in use at a time");
        for (i, sample) in frame.iter_mut().enumerate() {
            *sample = ((period * FRAME + i) as f32 * 0.01).sin();
        }
        let peak = frame.iter().copied().fold(0.0f32, f32::max);
        if period == 99 {
            // The last period: hand the figures back to the main thread.
            report.send(frames.stats()).expect("main thread listening");
            // A frame can also leave the pool for good.
            let kept: Vec<f32> = FixedGuard::into_inner(frame);
            assert_eq!(kept.len(), FRAME);
        }
        peak
    });

    let audio = std::thread::spawn(move || (0..100).map(&mut callback).fold(0.0f32, f32::max));
    let peak = audio.join().expect("the audio thread finished");
    let stats = reports.recv()?;

    println!("audio thread: 100 periods, peak sample {peak:.3}");
    println!(
        "pool: {} gets, {} built objects idle, {} frames discarded",
        stats.total_allocations, stats.idle, stats.total_discarded
    );
    assert!(peak > 0.99, "a sine reaches its peak over 25 600 samples");
    assert_eq!(stats.total_allocations, 100);
    assert_eq!(stats.total_discarded, 0);
    assert_eq!(stats.idle, 3, "the frame in use is not idle");
    Ok(())
}
