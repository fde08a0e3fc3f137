// Copyright tritium contributors.
//
// fp16_round: rounds sign * mant_i * 2^exp_i to IEEE binary16, round to
// nearest, ties to even, and packs it. Purely combinational. Shared by
// fp16_mul and fp16_add (comparison RTL, see fp16_pkg).
//
// mant_i must be nonzero (zeros are handled by the callers). The low bits
// of mant_i may be a "jammed" sticky bit (fp16_add); the result is exact
// RNE as long as the bits below the guard position hold that information.
//
//   1. msb      = index of the leading one of mant_i;
//      e        = msb + exp_i: the unbiased exponent of the exact value.
//   2. norm     = mant_i shifted left so its leading one is bit W-1.
//   3. extra    = -14 - e if e < -14 (subnormal result: the quantum stays
//                 2^-24), else 0; norm is shifted right by extra, the bits
//                 shifted out join the sticky bit.
//   4. kept     = the top 11 bits (hidden bit included), guard = next bit,
//      sticky   = OR of everything below; round up if guard & (sticky | lsb).
//   5. packed   = ((max(e, -14) + 14) << 10) + rounded. For a normal result
//                 the hidden bit of `rounded` adds the missing 1 to the
//                 exponent field; a rounding carry (rounded == 2^11) moves to
//                 the next binade, and from the largest binade to 0x7C00
//                 (infinity). For a subnormal result the exponent term is 0
//                 and rounded == 2^10 becomes the smallest normal number.
//   6. e > 15 or packed >= 0x7C00: overflow to infinity (RNE never
//      saturates to the largest finite value).

module fp16_round #(
  parameter int unsigned W = 22,  // width of mant_i, 13..63
  localparam int unsigned IdxW = $clog2(W)
) (
  input  logic              sign_i,  // sign of the result
  input  logic [W-1:0]      mant_i,  // magnitude significand, nonzero
  input  logic signed [7:0] exp_i,   // value = mant_i * 2^exp_i
  output logic [15:0]       res_o    // rounded binary16
);

  localparam int unsigned SigW = fp16_pkg::SigW;  // 11 kept bits

  logic [IdxW-1:0]   msb;         // index of the leading one of mant_i
  logic [IdxW-1:0]   lshift;      // W-1-msb: normalizing left shift
  logic [W-1:0]      norm;        // mant_i with its leading one at bit W-1
  logic signed [9:0] e;           // unbiased exponent of the exact value
  logic signed [9:0] under;       // -14 - e: binades below the normal range
  logic [5:0]        extra;       // right shift of a subnormal result, clamped to W
  logic [W-1:0]      shifted;     // norm >> extra
  logic              lost;        // nonzero bits shifted out by extra
  logic [SigW-1:0]   kept;        // the 11 significand bits kept before rounding
  logic              guard;       // first bit below kept
  logic              sticky;      // OR of all bits below guard
  logic              round_up;    // RNE increment
  logic [SigW:0]     rounded;     // kept + round_up (12 bits: may carry)
  logic [4:0]        exp_field;   // max(e, -14) + 14 (0 for subnormal results)
  logic [15:0]       packed_mag;  // (exp_field << 10) + rounded
  logic              overflow;    // the result is infinite

  // Priority encoder: the highest set bit wins (mant_i == 0 gives 0; unused).
  always_comb begin
    msb = '0;
    for (int unsigned i = 0; i < W; i++) begin
      if (mant_i[i]) msb = IdxW'(i);
    end
  end

  assign lshift = IdxW'(W - 1) - msb;
  assign norm   = mant_i << lshift;
  assign e      = $signed({{(10 - IdxW){1'b0}}, msb}) + 10'(exp_i);
  assign under  = -10'sd14 - e;

  always_comb begin
    if (e >= -10'sd14) begin
      extra = '0;
    end else if (under >= 10'(W)) begin
      extra = 6'(W);  // everything goes to the sticky bit
    end else begin
      extra = under[5:0];
    end
  end

  assign shifted = norm >> extra;
  assign lost    = (shifted << extra) != norm;

  assign kept     = shifted[W-1 -: SigW];
  assign guard    = shifted[W-1-SigW];
  assign sticky   = (|shifted[W-2-SigW:0]) | lost;
  assign round_up = guard & (sticky | kept[0]);
  assign rounded  = {1'b0, kept} + (SigW + 1)'(round_up);

  // e >= -14 here implies e + 14 in [0, 29] whenever overflow is false.
  assign exp_field  = (e >= -10'sd14) ? 5'(e + 10'sd14) : 5'd0;
  assign packed_mag = {1'b0, exp_field, 10'd0} + {4'd0, rounded};
  assign overflow   = (e > 10'sd15) || (packed_mag[14:0] >= fp16_pkg::InfMag);

  assign res_o = overflow ? {sign_i, fp16_pkg::InfMag} : {sign_i, packed_mag[14:0]};

  ////////////////
  // Assertions //
  ////////////////

  if (W < 13 || W > 63) begin : gen_w_check
    $error("fp16_round: W must be in 13..63");
  end

`ifndef SYNTHESIS
  always_comb begin
    if (`TRI_KNOWN({mant_i, exp_i}) && mant_i != '0) begin
      // In range, the exponent term and the significand overlap only through
      // the hidden bit: the packed magnitude never reaches bit 15.
      `TRI_ASSERT_FINAL(PackedNoCarryOut_A, e > 10'sd15 || !packed_mag[15],
          ("%m: packed magnitude overflowed 15 bits"))
      `TRI_ASSERT_FINAL(NormLeadingOne_A, norm[W-1],
          ("%m: normalization left no leading one"))
    end
  end
`endif

endmodule
