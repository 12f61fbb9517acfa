//! The Python guides' API, line by line in Rust (the mapping table of the
//! README), each line run and checked.
//!
//! cargo run --example migration

use fastalloc::{
    FixedPool, GrowingPool, Growth, Pool, PoolBuilder, PoolExhausted, ThreadLocalPool,
    ThreadSafePool,
};

#[derive(Default)]
struct MyObject {
    state: Option<u32>,
    data: Vec<u8>,
}

impl MyObject {
    fn new() -> Self {
        Self::default()
    }
    fn reset(&mut self) {
        self.state = None;
        self.data.clear();
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Python: pool = Pool(MyObject, capacity=100)
    let pool = Pool::new(100, MyObject::new);
    println!("Pool(MyObject, capacity=100)          -> Pool::new(100, MyObject::new)");

    // Python: obj = pool.get(); ...; pool.release(obj)
    let mut obj = pool.get()?;
    obj.state = Some(1);
    pool.release(obj);
    println!("obj = pool.get(); pool.release(obj)   -> let obj = pool.get()?; pool.release(obj)");

    // Python: with pool.allocate() as obj: ...
    {
        let obj = pool.get()?;
        assert_eq!(obj.state, Some(1), "no reset hook: the state stays");
    } // released at the end of the scope
    println!("with pool.allocate() as obj:          -> {{ let obj = pool.get()?; ... }}");

    // Python: FixedPool(MyObject, capacity=2) and PoolEmptyError
    let fixed = FixedPool::new(2, MyObject::new);
    let (_a, _b) = (fixed.get()?, fixed.get()?);
    let Err(err): Result<_, PoolExhausted> = fixed.get() else {
        unreachable!("both objects are out")
    };
    println!("except PoolEmptyError                 -> Err(PoolExhausted): {err}");

    // Python: Pool(MyObject, capacity=100, reset_method='reset', pre_initialize=True)
    let reset = PoolBuilder::new(MyObject::new)
        .capacity(100)
        .reset(MyObject::reset)
        .pre_initialize(true)
        .build_fixed()?;
    reset.get()?.state = Some(7);
    assert_eq!(reset.get()?.state, None);
    println!("reset_method='reset'                  -> .reset(MyObject::reset)");

    // Python: GrowingPool(MyObject, capacity=10, max_capacity=50,
    //                     growth_config=linear_growth(increment=10))
    let growing: GrowingPool<MyObject> = PoolBuilder::new(MyObject::new)
        .capacity(10)
        .max_capacity(50)
        .growth(Growth::Linear(10))
        .build_growing()?;
    let held: Vec<_> = (0..25).map(|_| growing.get()).collect::<Result<_, _>>()?;
    assert_eq!(growing.capacity(), 30);
    drop(held);
    println!("GrowingPool(..., linear_growth(10))   -> PoolBuilder ... .growth(Growth::Linear(10)).build_growing()?");

    // Python: ThreadSafePool(MyObject, capacity=100)
    let shared = ThreadSafePool::new(100, MyObject::new);
    std::thread::scope(|s| {
        s.spawn(|| shared.get().map(|mut o| o.data.push(1)));
    });
    println!("ThreadSafePool(MyObject, capacity=100) -> ThreadSafePool::new(100, MyObject::new)");

    // Python: ThreadLocalPool(MyObject, capacity=100)
    let local = ThreadLocalPool::new(100, MyObject::new);
    std::thread::scope(|s| {
        s.spawn(|| drop(local.get()));
    });
    println!("ThreadLocalPool(MyObject, capacity=100) -> ThreadLocalPool::new(100, MyObject::new)");

    // Python: enable_statistics=True; pool.stats().snapshot()['peak_in_use']
    let stats = PoolBuilder::new(MyObject::new)
        .capacity(10)
        .statistics(true)
        .build_fixed()?;
    let (_x, _y) = (stats.get()?, stats.get()?);
    println!(
        "stats().snapshot()['peak_in_use']     -> pool.stats().peak_in_use = {}",
        stats.stats().peak_in_use
    );
    // AsyncPool: see `cargo run --example async`.
    Ok(())
}
