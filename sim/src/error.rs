use std::path::PathBuf;

/// Everything that can go wrong driving the Verilator model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// The configuration is not one of [`crate::CONFIGS`] (or
    /// [`crate::ACCEL_CONFIGS`]), so no model was compiled for it.
    #[error("no Verilator model was built for array configuration `{name}` (built: {built}); add it to sim/src/configs.rs")]
    UnknownConfig { name: String, built: String },

    /// The compiled library disagrees with `configs.rs` (stale build).
    #[error("the compiled model of configuration `{name}` does not match sim/src/configs.rs ({detail}); rebuild tritium-sim")]
    ConfigMismatch { name: String, detail: String },

    /// The configuration cannot be driven through this API.
    #[error("configuration `{name}` is not supported: {reason}")]
    Unsupported { name: String, reason: String },

    /// The C++ model could not be constructed.
    #[error("could not create the Verilator model of `{name}`: {reason}")]
    Create { name: String, reason: String },

    /// A slice had the wrong length.
    #[error("{what}: expected {expected} values, got {got}")]
    Shape {
        what: &'static str,
        expected: usize,
        got: usize,
    },

    /// A weight code does not fit in 2 bits.
    #[error("weight code {code} at index {index} does not fit in 2 bits (codes: 0 = -1, 1 = 0, 2 = +1, 3 = invalid)")]
    InvalidCode { index: usize, code: u8 },

    /// A ternary weight outside {-1, 0, +1}.
    #[error("weight {value} at row {row}, index {index} is not ternary (-1, 0 or +1)")]
    InvalidWeight { row: usize, index: usize, value: i8 },

    /// A tile must have at least one beat (the last one carries `a_last_i`).
    #[error("a tile needs at least one beat")]
    EmptyTile,

    /// More beats than the accumulator is sized for.
    #[error("{beats} beats in one tile, but `{name}` allows at most {max} (ceil(k_max / lanes)); split K")]
    TooManyBeats {
        name: String,
        beats: usize,
        max: usize,
    },

    /// A result is waiting (`r_valid_o` high): it must be taken first.
    #[error("a result is pending (r_valid_o is high): take it (r_ready) or clear the array before starting a tile")]
    ResultPending,

    /// An RTL assertion failed (or `$stop` / `$error` ran). The message has
    /// the assertion's text, file:line and hierarchy. The model stays
    /// usable; the error stays recorded until [`crate::ArraySim::take_error`]
    /// or [`crate::ArraySim::reset`].
    #[error("RTL assertion failed: {message}")]
    Assertion { message: String },

    /// `$finish` was called by the RTL.
    #[error("the RTL called $finish: {message}")]
    Finished { message: String },

    /// The Verilator runtime hit a fatal error; the model is unusable
    /// (create a new one).
    #[error("fatal Verilator error, the model is unusable (create a new one): {message}")]
    Fatal { message: String },

    /// The array did not do what the protocol promises in time.
    #[error("timed out after {cycles} cycles waiting for {waiting_for}")]
    Timeout { cycles: u64, waiting_for: String },

    /// The array broke the handshake protocol of rtl/INTERFACE.md.
    #[error("protocol violation by the array: {0}")]
    Protocol(String),

    /// A size of an accelerator job is out of range (nothing was driven).
    #[error("{what} = {value} is out of range {min}..={max}")]
    OutOfRange {
        what: &'static str,
        value: usize,
        min: usize,
        max: usize,
    },

    /// A run's weight image does not have the length its shape needs
    /// (`AccelConfig::run_bytes(tiles * beats)`; nothing was driven).
    #[error("run {run}: the weight image must be {expected} bytes (tiles * beats words in whole bus beats), got {got}")]
    ImageLength {
        run: usize,
        expected: usize,
        got: usize,
    },

    /// A job without activations reuses the buffer, which holds a different
    /// number of words than the job reads (nothing was driven).
    #[error("the job reuses the activation buffer (no activations given), which holds {}; the job reads tokens * beats = {needed} words", .loaded.map_or("nothing loaded by this handle".to_string(), |w| format!("{w} words")))]
    BufferMismatch {
        loaded: Option<usize>,
        needed: usize,
    },

    /// The weight memory settings are invalid (nothing was driven).
    #[error("invalid weight memory: {0}")]
    Memory(String),

    /// A waveform could not be written.
    #[error("cannot write waveform to {}: {reason}", path.display())]
    Trace { path: PathBuf, reason: String },
}
