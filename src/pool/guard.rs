//! The shared shape of the public guards: each is a newtype over a
//! [`Lease`](crate::slab::Lease) that derefs to the pooled object.

/// Implements `Deref`, `DerefMut` and `Debug` for a guard newtype whose only
/// field is a lease.
macro_rules! guard_impls {
    ($guard:ident $(<$lt:lifetime>)?) => {
        impl<$($lt,)? T> core::ops::Deref for $guard<$($lt,)? T> {
            type Target = T;
            #[inline(always)]
            fn deref(&self) -> &T {
                &self.lease
            }
        }

        impl<$($lt,)? T> core::ops::DerefMut for $guard<$($lt,)? T> {
            #[inline(always)]
            fn deref_mut(&mut self) -> &mut T {
                &mut self.lease
            }
        }

        impl<$($lt,)? T> AsRef<T> for $guard<$($lt,)? T> {
            fn as_ref(&self) -> &T {
                &self.lease
            }
        }

        impl<$($lt,)? T> AsMut<T> for $guard<$($lt,)? T> {
            fn as_mut(&mut self) -> &mut T {
                &mut self.lease
            }
        }

        impl<$($lt,)? T: core::fmt::Debug> core::fmt::Debug for $guard<$($lt,)? T> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_tuple(stringify!($guard)).field(&*self.lease).finish()
            }
        }
    };
}

pub(crate) use guard_impls;
