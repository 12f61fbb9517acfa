//! The shared shape of the public guards: each is a newtype over a
//! [`Lease`](crate::slab::Lease) that derefs to the pooled object.

/// Implements `Deref`, `DerefMut`, `AsRef`, `AsMut`, `Debug` and
/// `into_inner` for a guard whose field `lease` is a lease (and whose other
/// fields, if any, do their work when dropped after it).
///
/// Forms: `guard_impls!(Guard<'a>)`, `guard_impls!(Guard)`, or with explicit
/// generics `guard_impls!(Guard ['a, T, H: Bound<T>] ['a, T, H])`.
macro_rules! guard_impls {
    ($guard:ident <$lt:lifetime>) => {
        $crate::pool::guard::guard_impls!($guard [$lt, T] [$lt, T]);
    };
    ($guard:ident) => {
        $crate::pool::guard::guard_impls!($guard [T] [T]);
    };
    ($guard:ident [$($gen:tt)*] [$($arg:tt)*]) => {
        impl<$($gen)*> core::ops::Deref for $guard<$($arg)*> {
            type Target = T;
            #[inline(always)]
            fn deref(&self) -> &T {
                &self.lease
            }
        }

        impl<$($gen)*> core::ops::DerefMut for $guard<$($arg)*> {
            #[inline(always)]
            fn deref_mut(&mut self) -> &mut T {
                &mut self.lease
            }
        }

        impl<$($gen)*> AsRef<T> for $guard<$($arg)*> {
            fn as_ref(&self) -> &T {
                &self.lease
            }
        }

        impl<$($gen)*> AsMut<T> for $guard<$($arg)*> {
            fn as_mut(&mut self) -> &mut T {
                &mut self.lease
            }
        }

        impl<$($gen)*> core::fmt::Debug for $guard<$($arg)*>
        where
            T: core::fmt::Debug,
        {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_tuple(stringify!($guard)).field(&*self.lease).finish()
            }
        }

        impl<$($gen)*> $guard<$($arg)*> {
            /// Takes the object out of the pool for good and returns it: no
            /// reset hook runs, and the pool replaces it: its slot goes back
            /// first in line, empty, so the next get builds a new object in it
            /// with `init`. `in_use` drops by one, `idle` is unchanged, and
            /// the statistics count no release.
            ///
            /// An associated function, like `Box::into_inner`, so that it
            /// never hides a method of `T`: call it as
            #[doc = concat!("`", stringify!($guard), "::into_inner(guard)`.")]
            pub fn into_inner(guard: Self) -> T {
                guard.lease.into_inner().0
            }
        }
    };
}

pub(crate) use guard_impls;
