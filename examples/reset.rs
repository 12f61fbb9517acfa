//! "Adding reset methods": a reset hook clears an object as it goes back, so
//! the next user gets a clean object that kept its allocations.
//!
//! cargo run --example reset

use fastalloc::PoolBuilder;

/// The guides' `MyClass`: some data and some state.
#[derive(Debug, Default)]
struct MyClass {
    data: Vec<u64>,
    state: Option<&'static str>,
}

impl MyClass {
    /// Called by the pool when the object is released.
    fn reset(&mut self) {
        self.data.clear(); // keeps the Vec's capacity
        self.state = None;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Python: Pool(MyClass, capacity=100, reset_method='reset')
    let pool = PoolBuilder::new(MyClass::default)
        .capacity(100)
        .reset(MyClass::reset)
        .statistics(true)
        .build_fixed()?;

    {
        let mut obj = pool.get()?;
        obj.data.extend(0..1000);
        obj.state = Some("busy");
    } // released here: reset runs

    let obj = pool.get()?;
    assert!(obj.data.is_empty() && obj.state.is_none(), "clean again");
    assert!(obj.data.capacity() >= 1000, "and its buffer was kept");
    println!(
        "the same object came back clean: data.len() = {}, data.capacity() = {}, state = {:?}",
        obj.data.len(),
        obj.data.capacity(),
        obj.state
    );
    drop(obj);
    println!("resets run: {}", pool.stats().total_resets);
    Ok(())
}
