// Copyright tritium contributors.
//
// fp16_mac_pe: one IEEE 754 binary16 multiply-accumulate unit. Comparison
// RTL (see fp16_pkg): the FPGA flow (fpga/) synthesizes it next to the
// ternary tri_mac_array and the INT8 int8_mac_array.
//
// Each cycle with valid_i:   acc_q <= round(acc + round(a_i * b_i))
//
// i.e. an IEEE multiply (fp16_mul) followed by an IEEE add (fp16_add), each
// rounded to nearest even: two roundings, not a fused multiply-add. Both
// are combinational, so the unit is single-cycle (one register, the
// accumulator): a product accepted in cycle T is visible on acc_o from
// cycle T+1. No pipeline: simplest to verify, and the nextpnr Fmax of the
// flow then shows the full multiply + add path.
//
// clear_i starts a new accumulation: the accumulator becomes -0, the
// identity of RNE addition (-0 + x == x for every x, +0 and -0 included),
// so after a clear the accumulator holds exactly the first product. With
// clear_i and valid_i in the same cycle, that product is accumulated onto
// the cleared value. Reset clears the same way.
//
// Special values follow IEEE 754 (signed zeros, subnormals in and out,
// overflow to infinity, inf - inf = NaN); every NaN result is the canonical
// quiet NaN 0x7E00 (input NaN payloads are not propagated).

module fp16_mac_pe (
  input  logic        clk_i,
  input  logic        rst_ni,

  input  logic        clear_i,  // accumulator <= -0 (before this cycle's product)
  input  logic        valid_i,  // accumulate a_i * b_i this cycle
  input  logic [15:0] a_i,      // binary16 multiplicand
  input  logic [15:0] b_i,      // binary16 multiplier
  output logic [15:0] acc_o     // binary16 accumulator
);

  localparam logic [15:0] NegZero = 16'h8000;  // -0: identity of RNE addition

  logic [15:0] acc_q, acc_d;
  logic [15:0] prod;  // round(a_i * b_i)
  logic [15:0] base;  // accumulator after clear_i
  logic [15:0] sum;   // round(base + prod)

  fp16_mul u_mul (
    .a_i (a_i),
    .b_i (b_i),
    .p_o (prod)
  );

  assign base = clear_i ? NegZero : acc_q;

  fp16_add u_add (
    .a_i (base),
    .b_i (prod),
    .s_o (sum)
  );

  assign acc_d = valid_i ? sum : base;
  assign acc_o = acc_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      acc_q <= NegZero;
    end else begin
      acc_q <= acc_d;
    end
  end

  ////////////////
  // Assertions //
  ////////////////

`ifndef SYNTHESIS
  `TRI_ASSERT_KNOWN(KnownCtrl_A, {clear_i, valid_i},
      ("%m: unknown control input"))
  `TRI_ASSERT_KNOWN_IF(KnownAcc_A, valid_i,
      {a_i, b_i},
      ("%m: valid operands have unknown bits"))
  // The accumulator only ever holds the canonical NaN.
  `TRI_ASSERT_IMP(CanonicalAcc_A, (acc_q[14:10] == 5'd31 && acc_q[9:0] != '0),
      acc_q == fp16_pkg::CanonNaN,
      ("%m: non-canonical NaN %h in the accumulator", acc_q))

  // ---- Cover points (`make coverage` requires every one to be hit) ----
  // A clear together with a product; the accumulator NaN, infinite of
  // either sign, subnormal and +0 (it starts at -0).
  `TRI_COVER(ClearAndValid_C, clear_i && valid_i)
  `TRI_COVER(AccNaN_C, acc_q == fp16_pkg::CanonNaN)
  `TRI_COVER(AccPosInf_C, acc_q == 16'h7c00)
  `TRI_COVER(AccNegInf_C, acc_q == 16'hfc00)
  `TRI_COVER(AccSubnormal_C, acc_q[14:10] == '0 && acc_q[9:0] != '0)
  `TRI_COVER(AccPosZero_C, acc_q == 16'h0000)
`endif

endmodule
