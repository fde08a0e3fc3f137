// Copyright tritium contributors.
//
// tri_pkg: constants shared by the ternary MAC array (see rtl/INTERFACE.md).

package tri_pkg;

  // 2-bit weight codes, identical to the golden crate and the packed HF checkpoint format.
  localparam logic [1:0] CodeNeg  = 2'd0;  // weight -1: subtract the lane's activation
  localparam logic [1:0] CodeZero = 2'd1;  // weight  0: skip, adder input gated to zero
  localparam logic [1:0] CodePos  = 2'd2;  // weight +1: add the lane's activation
  localparam logic [1:0] CodeInv  = 2'd3;  // invalid: never sent, flagged, treated as 0

  localparam int unsigned CodeW = 2;  // bits per weight code
  localparam int unsigned ActW  = 8;  // int8 activation
  // A signed term +-a with a in [-128, 127] lies in [-128, +128]: one bit wider than
  // the activation, because -(-128) = +128 does not fit in 8 bits.
  localparam int unsigned TermW = ActW + 1;

endpackage
