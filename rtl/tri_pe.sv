// Copyright tritium contributors.
//
// tri_pe: one lane of one column of the ternary MAC array. Purely combinational.
//
// The 2-bit weight code selects the lane's signed term:
//
//   code 0 (-1): term = -a
//   code 1 ( 0): term =  0   (skip)
//   code 2 (+1): term = +a
//   code 3     : term =  0   (invalid; flagged, never sent by tritium)
//
// There is no multiplier. Operand isolation: the activation is ANDed with
// "weight is nonzero" before it reaches the negator and the adder tree, so a
// zero (or invalid) weight keeps the lane's adder input at a constant zero and
// activation toggles do not propagate into the tree.
//
// term_o is TermW = 9 bits, two's complement: +-a with a in [-128, 127] spans
// [-128, +128].

// No toggle coverage of the PE's ports and signals: Verilator counts them
// once per PE instance (512 in the 16x32 array, 320 in the KV260
// accelerator), which was ~85 % of the coverage code of those models and
// most of the compile time of `make coverage`, yet merges them into the
// same 51 points. The parents cover every weight code and the activation
// extremes per lane (LaneCode_C, ActMin_C, ActMax_C). Line coverage of the
// PE stays on (coverage_on below).
// verilator coverage_off
module tri_pe (
  input  logic [tri_pkg::CodeW-1:0] code_i,  // weight code, see tri_pkg
  input  logic [tri_pkg::ActW-1:0]  act_i,   // int8 activation, two's complement
  output logic [tri_pkg::TermW-1:0] term_o,  // signed term t * a
  output logic                      add_o,   // code 0 or 2: the lane is added or subtracted
  output logic                      skip_o,  // code 1: the lane is skipped
  output logic                      inv_o    // code 3: invalid code
);

  localparam int unsigned ActW  = tri_pkg::ActW;
  localparam int unsigned TermW = tri_pkg::TermW;

  logic             neg;     // weight -1
  logic             pos;     // weight +1
  logic [TermW-1:0] act_sx;  // activation sign-extended to TermW
  logic [TermW-1:0] act_g;   // activation gated by "weight nonzero" (operand isolation)
  // verilator coverage_on

  assign neg = (code_i == tri_pkg::CodeNeg);
  assign pos = (code_i == tri_pkg::CodePos);

  assign add_o  = neg | pos;
  assign skip_o = (code_i == tri_pkg::CodeZero);
  assign inv_o  = (code_i == tri_pkg::CodeInv);

  assign act_sx = {act_i[ActW-1], act_i};
  assign act_g  = act_sx & {TermW{add_o}};

  // Two's complement negation (invert and increment): an adder, not a multiplier.
  assign term_o = neg ? (~act_g + TermW'(1)) : act_g;

  ////////////////
  // Assertions //
  ////////////////

  // Invalid codes are asserted against at the array top, where it is known
  // whether the beat was accepted. Here: exactly one flag per lane, so that
  // adds + skips + invalids = lanes (counters in tri_mac_array rely on it).
`ifndef SYNTHESIS
  // No toggle coverage of the reference either (see the top of the file).
  // verilator coverage_off
  logic [TermW-1:0] term_ref;  // reference term, written independently of the datapath above
  // verilator coverage_on

  // Deferred immediate assertions (`assert final`, TRI_ASSERT_FINAL): evaluated once the
  // combinational logic has settled, so delta-cycle glitches do not fire them.
  always_comb begin
    term_ref = '0;
    if (code_i == tri_pkg::CodePos) term_ref = TermW'($signed(act_i));
    if (code_i == tri_pkg::CodeNeg) term_ref = TermW'(-$signed({act_i[ActW-1], act_i}));

    // Simulation-only assertion code, not measured: a 2-state simulator
    // (Verilator) has no X, so the X guard's implicit else branch can never
    // be taken and the line would never count as covered.
    // verilator coverage_off
    if (`TRI_KNOWN({code_i, act_i})) begin
      `TRI_ASSERT_FINAL(FlagsOneHot_A, $onehot({add_o, skip_o, inv_o}),
          ("%m: PE flags not one-hot for code %0d", code_i))
      `TRI_ASSERT_FINAL(TermRef_A, term_o == term_ref,
          ("%m: term %0d != reference %0d", $signed(term_o), $signed(term_ref)))
    end
    // verilator coverage_on
  end
`endif

endmodule
