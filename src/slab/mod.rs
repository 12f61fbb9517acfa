//! The slab layer: slot storage, the core that pairs it with a free list,
//! and the lease that owns one slot. The raw-memory `unsafe` of the crate is
//! here; every block cites the SAFETY.md invariant it relies on.
//!
//! * [`Store`] (`store.rs`): the slots, one `u32` word of free-list
//!   bookkeeping per slot, and (for growing pools) the table of segments
//!   added since. It never forms a reference to a whole segment's slots,
//!   only raw pointers to one.
//! * [`Core`] (`core.rs`): a store, a free list of its indices (with its
//!   out-count), the user's hooks and optional statistics. It fills empty
//!   slots on first use, grows the store when the list runs dry, runs the
//!   reset hook on release and drops the idle objects when it is dropped.
//!   [`Settings::check`] turns what the user asked for into the [`Layout`] a
//!   core is built from.
//! * [`Lease`] (`lease.rs`): proof of exclusive ownership of one filled
//!   slot, generic over how it keeps the core alive (`&Core` for borrowed
//!   guards, `Arc<Core>` for owned ones). The typed pools wrap it in their
//!   public guards.
//!
//! The free list is a type parameter of the core: the slab sits *above* the
//! free lists (`crate::freelist`), which know only indices and words.

mod core;
mod lease;
mod store;

pub(crate) use self::core::{Core, Grows, Hooks, Layout, Settings};
pub(crate) use self::lease::{Lease, Owner};
#[cfg(doc)]
use self::store::Store;
pub(crate) use self::store::{Fixed, Growable};
