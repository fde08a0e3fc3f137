//! Weight buffers on transparent huge pages.
//!
//! Decode streams the whole model once per token. On 4 KiB pages that is
//! ~300k TLB misses per token, and the hardware prefetchers stop at every
//! page boundary. Linux with `transparent_hugepage=madvise` (the common
//! default) backs memory with 2 MiB pages only where asked to: a
//! [`HugeBuf`] of 1 MiB or more is allocated 2 MiB-aligned, rounded up to
//! whole 2 MiB pages, and asks (`madvise(MADV_HUGEPAGE)`) before its pages
//! are first touched. For scale: with huge pages forced for all memory
//! (`transparent_hugepage=always`) 2B4T decode measured 19.9-21.3 tok/s
//! against 16.8-18.5 without (2 vCPU Cascade Lake, noisy). Elsewhere, or
//! when the kernel refuses, the buffer is ordinary memory.
//!
//! Both the model loaders (the bf16 embedding and head, [`huge_vec`]) and
//! the SIMD engine (packed weights, [`HugeBuf`]) allocate through this
//! crate. Its `unsafe` is the allocation behind [`HugeBuf`] and the one
//! `madvise` call, each with its safety argument.

#![allow(unsafe_code)]

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::NonNull;

const HUGE: usize = 2 << 20;

/// A fixed-length buffer of `T`, on huge pages when large enough.
pub struct HugeBuf<T: Copy> {
    ptr: NonNull<T>,
    len: usize,
    /// `None` for an empty buffer (nothing allocated).
    layout: Option<Layout>,
}

// SAFETY: HugeBuf owns its elements like a Vec<T> does.
unsafe impl<T: Copy + Send> Send for HugeBuf<T> {}
// SAFETY: shared access only hands out &[T].
unsafe impl<T: Copy + Sync> Sync for HugeBuf<T> {}

impl<T: Copy> HugeBuf<T> {
    /// Room for `n` elements, not yet initialized.
    fn uninit(n: usize) -> HugeBuf<T> {
        let bytes = n
            .checked_mul(std::mem::size_of::<T>())
            .expect("buffer size overflows usize");
        if bytes == 0 {
            return HugeBuf {
                ptr: NonNull::dangling(),
                len: n,
                layout: None,
            };
        }
        let huge = bytes >= HUGE / 2;
        let layout = if huge {
            Layout::from_size_align(bytes.div_ceil(HUGE) * HUGE, HUGE)
        } else {
            Layout::array::<T>(n)
        }
        .expect("buffer layout");
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc(layout) } as *mut T;
        let Some(ptr) = NonNull::new(raw) else {
            handle_alloc_error(layout)
        };
        if huge {
            advise(raw as usize, layout.size());
        }
        HugeBuf {
            ptr,
            len: n,
            layout: Some(layout),
        }
    }

    /// `n` copies of `fill`.
    pub fn filled(n: usize, fill: T) -> HugeBuf<T> {
        let b: HugeBuf<T> = HugeBuf::uninit(n);
        for i in 0..n {
            // SAFETY: i < n elements fit the allocation, aligned for T
            // (dangling but never written when the size is zero).
            unsafe { b.ptr.as_ptr().add(i).write(fill) };
        }
        b
    }
}

impl<T: Copy> std::ops::Deref for HugeBuf<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: ptr holds len initialized elements (or is dangling with len * size 0).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Copy> std::ops::DerefMut for HugeBuf<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in deref, and &mut self is unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Copy> Drop for HugeBuf<T> {
    fn drop(&mut self) {
        if let Some(layout) = self.layout {
            // SAFETY: allocated in `filled` with this layout.
            unsafe { dealloc(self.ptr.as_ptr() as *mut u8, layout) };
        }
    }
}

impl<T: Copy> Clone for HugeBuf<T> {
    fn clone(&self) -> Self {
        let b: HugeBuf<T> = HugeBuf::uninit(self.len);
        // SAFETY: both hold len elements; the new buffer is a fresh allocation.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.as_ptr(), b.ptr.as_ptr(), self.len) };
        b
    }
}

impl<T: Copy> std::fmt::Debug for HugeBuf<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HugeBuf({} elements)", self.len)
    }
}

impl<T: Copy + PartialEq> PartialEq for HugeBuf<T> {
    fn eq(&self, o: &Self) -> bool {
        **self == **o
    }
}

impl<T: Copy + Eq> Eq for HugeBuf<T> {}

/// An empty `Vec` with room for `cap` elements whose whole 2 MiB pages are
/// advised as huge pages before they are written: for large buffers the
/// network streams per token but does not own through a [`HugeBuf`] (the
/// bf16 embedding / LM head of the golden `DenseMatrix`). All but at most
/// 4 MiB at its ends lands on huge pages.
pub fn huge_vec<T>(cap: usize) -> Vec<T> {
    let v: Vec<T> = Vec::with_capacity(cap);
    let bytes = cap.saturating_mul(std::mem::size_of::<T>());
    if bytes >= 2 * HUGE {
        let start = (v.as_ptr() as usize).div_ceil(HUGE) * HUGE;
        let end = (v.as_ptr() as usize + bytes) / HUGE * HUGE;
        if end > start {
            advise(start, end - start);
        }
    }
    v
}

#[cfg(target_os = "linux")]
fn advise(addr: usize, bytes: usize) {
    // SAFETY: the range is this process's own fresh allocation; the advice
    // changes only how it is backed, never its contents. A failure (old
    // kernel, THP disabled) is harmless and ignored.
    unsafe {
        libc::madvise(addr as *mut libc::c_void, bytes, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise(_addr: usize, _bytes: usize) {}

#[cfg(test)]
mod tests {
    use super::HugeBuf;

    #[test]
    fn filled_buffers_hold_their_contents_and_clone() {
        for n in [0usize, 1, 1000, (1 << 20) - 1, (5 << 20) + 3] {
            let mut v = HugeBuf::filled(n, 0x55u8);
            assert_eq!(v.len(), n);
            assert!(v.iter().all(|&b| b == 0x55));
            if n > 0 {
                v[n - 1] = 7;
            }
            let c = v.clone();
            assert!(c == v);
        }
        let big = HugeBuf::filled(3 << 20, 1u8);
        assert_eq!(
            big.as_ptr() as usize % (2 << 20),
            0,
            "large buffers are 2 MiB aligned"
        );
    }
}
