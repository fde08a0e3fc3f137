//! The row runners of the shared network code: a function over the
//! independent rows of an output, on rayon's pool or in order (the same
//! bits either way), or on a backend's own workers
//! ([`crate::Backend::for_each_row`]).

/// Runs `f(i, row)` for every `d`-sized row of `out`: on rayon's current
/// pool with the `parallel` feature, in order without it. Rows are
/// independent, so the results are the same bits either way.
pub fn each_row<T: Send>(out: &mut [T], d: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    #[cfg(feature = "parallel")]
    if out.len() > d {
        use rayon::prelude::*;
        out.par_chunks_mut(d).enumerate().for_each(|(i, c)| f(i, c));
        return;
    }
    // One row (a decode step) or no `parallel`: no fork-join.
    for (i, c) in out.chunks_mut(d).enumerate() {
        f(i, c);
    }
}

/// [`each_row`] over two outputs with rows of `da` and `db` elements.
pub fn each_row2<A: Send, B: Send>(
    a: &mut [A],
    da: usize,
    b: &mut [B],
    db: usize,
    f: impl Fn(usize, &mut [A], &mut [B]) + Sync + Send,
) {
    #[cfg(feature = "parallel")]
    if a.len() > da {
        use rayon::prelude::*;
        a.par_chunks_mut(da)
            .zip(b.par_chunks_mut(db))
            .enumerate()
            .for_each(|(i, (x, y))| f(i, x, y));
        return;
    }
    for (i, (x, y)) in a.chunks_mut(da).zip(b.chunks_mut(db)).enumerate() {
        f(i, x, y);
    }
}

/// Runs a [`RowFn`] over `d`-sized rows: [`each_row`], or a backend's own
/// workers ([`crate::Backend::for_each_row`]).
pub type RowFn<'a> = dyn Fn(usize, &mut [f32]) + Sync + 'a;
