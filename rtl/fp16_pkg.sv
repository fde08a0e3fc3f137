// Copyright tritium contributors.
//
// fp16_pkg: IEEE 754 binary16 constants of the FP16 comparison PE
// (fp16_mul, fp16_add, fp16_round, fp16_mac_pe). Comparison RTL: it is not
// part of the ternary accelerator, it exists so that the FPGA flow (fpga/)
// can synthesize an FP16 multiply-accumulate unit in the same style and with
// the same tools as tri_mac_array.
//
// Encoding: {sign, exponent[4:0], fraction[9:0]}, bias 15. Exponent 0 holds
// zeros and subnormals (value = fraction * 2^-24), 31 holds infinities
// (fraction 0) and NaNs (fraction != 0).

package fp16_pkg;

  localparam int unsigned W     = 16;  // bits of a binary16 value
  localparam int unsigned FracW = 10;  // fraction field (significand without the hidden bit)
  localparam int unsigned SigW  = FracW + 1;  // significand with the hidden bit

  // Every NaN result is this canonical quiet NaN (sign 0, quiet bit set,
  // payload 0); input NaN payloads are not propagated.
  localparam logic [W-1:0] CanonNaN = 16'h7E00;
  localparam logic [W-2:0] InfMag   = 15'h7C00;  // magnitude of +-infinity

endpackage
