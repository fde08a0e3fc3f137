//! A small fork-join pool for the decode step, where rayon's per-call cost
//! shows: a 2B4T token is ~120 ternary matmuls of 0.1-0.5 ms each, with a
//! few tens of microseconds of serial work (norms, quantization, attention)
//! between them. rayon's idle workers go to sleep within that gap and each
//! call then pays a futex wake-up and a work-splitting round trip.
//!
//! [`SpinPool`] keeps its workers spinning on an epoch counter for a while
//! (then they park, so an idle engine costs nothing), hands out the items of
//! a job from both ends of one atomic range (the calling thread from the
//! front, the workers from the back: good balance, no splitting), and lets
//! each worker spend the serial gap after a job *prefetching* the part of
//! the next job it will most likely take. The memory bus is the bottleneck
//! of decode; this keeps it busy while the calling thread does the serial
//! work. A prefetch of memory that is no longer mapped is harmless (it never
//! faults), so a stale prediction costs bandwidth, never correctness.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle worker spins before it parks: longer than the serial
/// gaps of a decode step (tens of microseconds), short enough not to steal
/// much of a core from rayon during a prompt.
const SPIN_FOR: Duration = Duration::from_micros(200);

/// A byte range a worker prefetches after its share of a job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prefetch {
    pub addr: usize,
    pub len: usize,
}

/// The end of a job's item range an item was taken from: the calling
/// thread takes items from the front (in order), the workers from the back
/// (in reverse), so a thread's next item is the one after or the one before
/// (what a kernel prefetching its next item's weights needs to know).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Front,
    Back,
}

type JobFn = dyn Fn(usize, End) + Sync;

/// A buffer shared by the items of one job, each writing its own disjoint
/// range (a matmul's panel-major outputs; the rows of [`SpinPool::rows`]).
pub(crate) struct SharedOut<T>(pub(crate) *mut T);
// SAFETY: only used to hand disjoint ranges of one live buffer to the items
// of a job that completes before the buffer is touched again.
unsafe impl<T> Sync for SharedOut<T> {}

struct Job {
    /// The item function, its lifetime erased: valid until the job's gate is
    /// closed with no worker inside.
    f: *const JobFn,
    /// One range per worker (sized once, when the pool starts).
    prefetch: Vec<Prefetch>,
}

struct Shared {
    epoch: AtomicU64,
    /// Unclaimed items `lo .. hi`, packed as `hi << 32 | lo`.
    range: AtomicU64,
    /// The current job's gate: [`OPEN`] while workers may join it, and the
    /// count of workers inside it. A worker joins only through an open gate
    /// (and only then reads `job`); the caller closes it once the range is
    /// empty and waits for the count to reach 0. So a worker that is not
    /// running (descheduled on a busy machine) when a job comes never holds
    /// the job up: it finds the gate closed and skips it. Before the gate,
    /// the caller waited for every worker to see every job, and a 2-thread
    /// decode next to another busy process ran at half the speed of 1 thread.
    gate: AtomicU64,
    /// Tests: holds every worker after it sees a job and before it joins
    /// (a thread the scheduler has not run).
    #[cfg(test)]
    held: AtomicBool,
    panicked: AtomicBool,
    stop: AtomicBool,
    sleepers: AtomicUsize,
    job: std::cell::UnsafeCell<Job>,
    lock: Mutex<()>,
    wake: Condvar,
}

// SAFETY: `job` is written only by the (single, `&mut`) caller of
// `SpinPool::run` while no worker reads it (between jobs: the gate is
// closed with no worker inside), and read by workers only after they joined
// through the open gate (Acquire after the caller's Release).
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

/// [`Shared::gate`]'s open flag; the bits below it count the workers inside.
const OPEN: u64 = 1 << 63;

impl Shared {
    /// Enters the current job if its gate is open.
    fn join(&self) -> bool {
        let mut g = self.gate.load(Acquire);
        while g & OPEN != 0 {
            match self.gate.compare_exchange_weak(g, g + 1, AcqRel, Acquire) {
                Ok(_) => return true,
                Err(now) => g = now,
            }
        }
        false
    }

    fn claim(&self, front: bool) -> Option<usize> {
        let mut cur = self.range.load(Acquire);
        loop {
            let (lo, hi) = (cur & 0xffff_ffff, cur >> 32);
            if lo >= hi {
                return None;
            }
            let (next, item) = if front {
                (cur + 1, lo)
            } else {
                (((hi - 1) << 32) | lo, hi - 1)
            };
            match self.range.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                Ok(_) => return Some(item as usize),
                Err(now) => cur = now,
            }
        }
    }
}

/// See the module docs.
pub struct SpinPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for SpinPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SpinPool({} threads)", self.threads())
    }
}

impl SpinPool {
    /// A pool running jobs on `threads` threads: the caller and
    /// `threads - 1` workers.
    pub fn new(threads: usize) -> std::io::Result<SpinPool> {
        let n = threads.max(1) - 1;
        let shared = Arc::new(Shared {
            epoch: AtomicU64::new(0),
            range: AtomicU64::new(0),
            gate: AtomicU64::new(0),
            #[cfg(test)]
            held: AtomicBool::new(false),
            panicked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            job: std::cell::UnsafeCell::new(Job {
                f: &noop as &JobFn as *const JobFn,
                prefetch: vec![Prefetch::default(); n],
            }),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        });
        let mut workers = Vec::with_capacity(n);
        for w in 0..n {
            let sh = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name(format!("tritium-spin-{}", w + 1))
                .spawn(move || worker(&sh, w));
            match spawned {
                Ok(h) => workers.push(h),
                Err(e) => {
                    // Stop the ones already started before reporting.
                    drop(SpinPool { shared, workers });
                    return Err(e);
                }
            }
        }
        Ok(SpinPool { shared, workers })
    }

    /// Threads a job runs on, the caller included.
    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Runs `f(i, end)` for every `i` in `0..items` (each exactly once, on
    /// any of the pool's threads; `end` says which end of the range it was
    /// taken from) and returns when all are done. Worker `w` then prefetches
    /// `prefetch[w]` (if given) until the next job comes.
    pub fn run(&mut self, items: usize, f: &(dyn Fn(usize, End) + Sync), prefetch: &[Prefetch]) {
        assert!(items < 1 << 31, "too many items for one job");
        if self.workers.is_empty() || items <= 1 {
            (0..items).for_each(|i| f(i, End::Front));
            return;
        }
        let sh = &*self.shared;
        {
            // SAFETY: no worker reads `job` now (see `Shared`'s Sync).
            let job = unsafe { &mut *sh.job.get() };
            // SAFETY: only the lifetime is erased; `f` outlives the job
            // because this function does not return (or unwind) before
            // every worker has left it.
            let f: *const (dyn Fn(usize, End) + Sync + '_) = f;
            job.f = unsafe {
                std::mem::transmute::<*const (dyn Fn(usize, End) + Sync + '_), *const JobFn>(f)
            };
            for (w, d) in job.prefetch.iter_mut().enumerate() {
                *d = prefetch.get(w).copied().unwrap_or_default();
            }
        }
        sh.range.store((items as u64) << 32, Relaxed);
        sh.gate.store(OPEN, Release);
        sh.epoch.fetch_add(1, SeqCst);
        if sh.sleepers.load(SeqCst) > 0 {
            let _g = sh.lock.lock().unwrap_or_else(|e| e.into_inner());
            sh.wake.notify_all();
        }
        let mine = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            while let Some(i) = sh.claim(true) {
                f(i, End::Front);
            }
        }));
        // The range is empty: no worker joins any more, and those inside
        // finish the item they hold.
        sh.gate.fetch_and(!OPEN, AcqRel);
        while sh.gate.load(Acquire) != 0 {
            std::hint::spin_loop();
        }
        if let Err(p) = mine {
            std::panic::resume_unwind(p);
        }
        if sh.panicked.swap(false, AcqRel) {
            panic!("a tritium-spin worker panicked");
        }
    }

    /// Runs `f(i, row)` for every `d`-sized row of `rows` (the last one may
    /// be shorter), each item owning its own row; workers then prefetch
    /// `prefetch`.
    pub fn rows(
        &mut self,
        rows: &mut [f32],
        d: usize,
        prefetch: &[Prefetch],
        f: &(dyn Fn(usize, &mut [f32]) + Sync),
    ) {
        if d == 0 {
            if !rows.is_empty() {
                f(0, rows);
            }
            return;
        }
        let len = rows.len();
        let base = SharedOut(rows.as_mut_ptr());
        let base = &base;
        self.run(
            len.div_ceil(d),
            &|i, _| {
                // SAFETY: item i owns row i (`d` values inside `rows`, fewer
                // for a short last row), disjoint from every other item's;
                // `rows` outlives the job.
                let row = unsafe {
                    std::slice::from_raw_parts_mut(base.0.add(i * d), d.min(len - i * d))
                };
                f(i, row);
            },
            prefetch,
        );
    }
}

impl Drop for SpinPool {
    fn drop(&mut self) {
        self.shared.stop.store(true, SeqCst);
        {
            let _g = self.shared.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.wake.notify_all();
        }
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}

fn noop(_: usize, _: End) {}

fn worker(sh: &Shared, w: usize) {
    let mut seen = 0u64;
    loop {
        match wait_for_job(sh, seen) {
            Some(e) => seen = e,
            None => return,
        }
        #[cfg(test)]
        while sh.held.load(Acquire) {
            std::hint::spin_loop();
        }
        if !sh.join() {
            // Over before this worker came (it was not running, or slow
            // to see the epoch): nothing of it is left to do or to read.
            continue;
        }
        // SAFETY: joining (Acquire) through the open gate came after the
        // job was written (Release); it stays valid until this worker
        // leaves the gate.
        let (f, pf) = unsafe {
            let job = &*sh.job.get();
            (&*job.f, job.prefetch[w])
        };
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            while let Some(i) = sh.claim(false) {
                f(i, End::Back);
            }
        }));
        if r.is_err() {
            sh.panicked.store(true, Release);
        }
        sh.gate.fetch_sub(1, Release);
        prefetch(sh, pf, seen);
    }
}

/// Spins until the epoch moves past `seen` (then parks); `None` on stop.
fn wait_for_job(sh: &Shared, seen: u64) -> Option<u64> {
    let start = Instant::now();
    let mut spins = 0u32;
    loop {
        let e = sh.epoch.load(Acquire);
        if e != seen {
            return Some(e);
        }
        if sh.stop.load(Relaxed) {
            return None;
        }
        std::hint::spin_loop();
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(1024) && start.elapsed() > SPIN_FOR {
            let mut g = sh.lock.lock().unwrap_or_else(|e| e.into_inner());
            sh.sleepers.fetch_add(1, SeqCst);
            while sh.epoch.load(SeqCst) == seen && !sh.stop.load(SeqCst) {
                g = sh.wake.wait(g).unwrap_or_else(|e| e.into_inner());
            }
            sh.sleepers.fetch_sub(1, SeqCst);
        }
    }
}

/// Prefetches `pf` into this core's caches, 4 KiB at a time, stopping as
/// soon as a new job is published.
fn prefetch(sh: &Shared, pf: Prefetch, seen: u64) {
    const LINE: usize = 64;
    const STEP: usize = 4096;
    let mut a = pf.addr & !(LINE - 1);
    let end = pf.addr.saturating_add(pf.len);
    while a < end {
        if sh.epoch.load(Relaxed) != seen {
            return;
        }
        let stop = (a + STEP).min(end);
        while a < stop {
            prefetch_line(a);
            a += LINE;
        }
    }
}

#[inline(always)]
fn prefetch_line(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(addr as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn every_item_runs_exactly_once() {
        for threads in [1, 2, 3, 5] {
            let mut pool = SpinPool::new(threads).unwrap();
            assert_eq!(pool.threads(), threads);
            for items in [0usize, 1, 2, 7, 64, 1000] {
                let hits: Vec<AtomicU32> = (0..items).map(|_| AtomicU32::new(0)).collect();
                let pf = [Prefetch {
                    addr: hits.as_ptr() as usize,
                    len: 4096,
                }; 4];
                pool.run(
                    items,
                    &|i, _| {
                        hits[i].fetch_add(1, Relaxed);
                    },
                    &pf,
                );
                assert!(
                    hits.iter().all(|h| h.load(Relaxed) == 1),
                    "{threads} threads, {items} items"
                );
            }
        }
    }

    #[test]
    fn rows_cover_a_buffer_once_with_a_short_last_row() {
        let mut pool = SpinPool::new(2).unwrap();
        let mut v = vec![0f32; 10];
        pool.rows(&mut v, 4, &[], &|i, r| {
            r.iter_mut().for_each(|x| *x += 1.0 + i as f32);
        });
        assert_eq!(v, [1., 1., 1., 1., 2., 2., 2., 2., 3., 3.]);
        // d = 0: the whole buffer as one row.
        let mut w = vec![0f32; 3];
        pool.rows(&mut w, 0, &[], &|i, r| {
            assert_eq!((i, r.len()), (0, 3));
            r[0] = 7.0;
        });
        assert_eq!(w, [7.0, 0.0, 0.0]);
    }

    /// The calling thread's items come from the front in order, every
    /// worker's from the back in reverse, and each says so.
    #[test]
    fn items_say_which_end_they_came_from() {
        let mut pool = SpinPool::new(3).unwrap();
        let main = std::thread::current().id();
        let log = Mutex::new(Vec::new());
        pool.run(
            1000,
            &|i, end| {
                let on_main = std::thread::current().id() == main;
                log.lock().unwrap().push((i, end, on_main));
                // Long enough for the workers to take some items too.
                std::thread::sleep(Duration::from_micros(50));
            },
            &[],
        );
        let log = log.into_inner().unwrap();
        assert_eq!(log.len(), 1000);
        let front: Vec<usize> = log.iter().filter(|e| e.2).map(|e| e.0).collect();
        assert!(log.iter().all(|e| (e.1 == End::Front) == e.2));
        assert!(front.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(front.first(), Some(&0));
        let back_min = log.iter().filter(|e| !e.2).map(|e| e.0).min();
        assert!(back_min.is_some(), "no worker took an item");
        assert!(front.iter().all(|&i| Some(i) < back_min));
    }

    /// Regression: the caller waited for every worker to see every job, so
    /// a worker the scheduler did not run (another busy process on the
    /// core) held up each job until it ran: 2-thread decode ran at half the
    /// speed of 1 thread next to a busy process. Here the worker is held
    /// before it joins: the caller runs every item itself and returns; the
    /// worker, let go, skips the jobs that are over and takes part again.
    #[test]
    fn a_worker_that_does_not_come_holds_no_job_up() {
        let mut pool = SpinPool::new(2).unwrap();
        pool.shared.held.store(true, SeqCst);
        let (tx, rx) = std::sync::mpsc::channel();
        let caller = std::thread::spawn(move || {
            let me = std::thread::current().id();
            for _ in 0..3 {
                let hits: Vec<AtomicU32> = (0..64).map(|_| AtomicU32::new(0)).collect();
                let elsewhere = AtomicU32::new(0);
                pool.run(
                    64,
                    &|i, _| {
                        hits[i].fetch_add(1, Relaxed);
                        if std::thread::current().id() != me {
                            elsewhere.fetch_add(1, Relaxed);
                        }
                    },
                    &[],
                );
                assert!(hits.iter().all(|h| h.load(Relaxed) == 1));
                assert_eq!(elsewhere.load(Relaxed), 0, "the held worker ran an item");
            }
            tx.send(()).unwrap();
            pool
        });
        rx.recv_timeout(Duration::from_secs(20))
            .expect("a job waited for a worker that never joined it");
        let mut pool = caller.join().unwrap();
        pool.shared.held.store(false, SeqCst);
        // Let go, the worker takes items again.
        let main = std::thread::current().id();
        let worker_items = AtomicU32::new(0);
        pool.run(
            400,
            &|_, _| {
                if std::thread::current().id() != main {
                    worker_items.fetch_add(1, Relaxed);
                }
                std::thread::sleep(Duration::from_micros(50));
            },
            &[],
        );
        assert!(worker_items.load(Relaxed) > 0, "the worker never came back");
    }

    /// Regression: the pool once capped itself at 64 threads without a word
    /// (its prefetch hints were a fixed array).
    #[test]
    fn any_thread_count_is_honoured() {
        let mut pool = SpinPool::new(70).unwrap();
        assert_eq!(pool.threads(), 70);
        let n = AtomicU32::new(0);
        pool.run(
            500,
            &|_, _| {
                n.fetch_add(1, Relaxed);
            },
            &[],
        );
        assert_eq!(n.load(Relaxed), 500);
    }

    #[test]
    fn parked_workers_wake_up() {
        let mut pool = SpinPool::new(2).unwrap();
        std::thread::sleep(SPIN_FOR * 4);
        let seen = AtomicU32::new(0);
        pool.run(
            100,
            &|_, _| {
                seen.fetch_add(1, Relaxed);
            },
            &[],
        );
        assert_eq!(seen.load(Relaxed), 100);
    }

    #[test]
    fn a_panicking_item_propagates_and_the_pool_stays_usable() {
        let mut pool = SpinPool::new(2).unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.run(64, &|i, _| assert!(i != 40, "item 40"), &[]);
        }));
        assert!(r.is_err());
        let n = AtomicU32::new(0);
        pool.run(
            10,
            &|_, _| {
                n.fetch_add(1, Relaxed);
            },
            &[],
        );
        assert_eq!(n.load(Relaxed), 10);
    }

    #[test]
    fn prefetch_of_unmapped_memory_is_harmless() {
        let mut pool = SpinPool::new(2).unwrap();
        let pf = [Prefetch {
            addr: 16,
            len: 1 << 20,
        }];
        pool.run(8, &|_, _| {}, &pf);
        pool.run(8, &|_, _| {}, &pf);
    }
}
