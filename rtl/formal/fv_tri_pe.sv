// Copyright tritium contributors.
//
// fv_tri_pe: the ternary PE equals a multiply-based reference for every
// weight code and activation (4 x 256 inputs), and flags exactly the invalid
// code. Combinational: proven for all inputs at once. With BROKEN defined,
// the reference has the wrong sign for +1 and the proof must FAIL (the
// flow's control that it can fail).

module fv_tri_pe (
  input logic [tri_pkg::CodeW-1:0] code_i,
  input logic [tri_pkg::ActW-1:0]  act_i
);
  logic [tri_pkg::TermW-1:0] term;
  logic add, skip, inv;

  tri_pe dut (
    .code_i (code_i),
    .act_i  (act_i),
    .term_o (term),
    .add_o  (add),
    .skip_o (skip),
    .inv_o  (inv)
  );

  // The weight t in {-1, 0, +1} of a code, and t * a with a multiplier.
  integer t, ref_term;
  always @* begin
    case (code_i)
      tri_pkg::CodeNeg: t = -1;
      tri_pkg::CodePos: t = 1;
      default:          t = 0;
    endcase
`ifdef BROKEN
    if (code_i == tri_pkg::CodePos) t = -1;
`endif
    ref_term = t * $signed(act_i);
    PeMulRef_A: assert ($signed(term) == ref_term);
    PeInvFlag_A: assert (inv == (code_i == tri_pkg::CodeInv));
    PeSkipFlag_A: assert (skip == (code_i == tri_pkg::CodeZero));
    PeAddFlag_A: assert (add == (code_i == tri_pkg::CodeNeg || code_i == tri_pkg::CodePos));
  end
endmodule
