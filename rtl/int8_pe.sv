// Copyright tritium contributors.
//
// int8_pe: one lane of the INT8 comparison array (int8_mac_array), the
// W8A8 counterpart of tri_pe. Purely combinational: a real signed 8 x 8
// multiplier, as an INT8 accelerator needs it.
//
//   prod_o = w_i * a_i, both int8 two's complement, exact in 16 bits:
//   the extremes are (-128) * (-128) = +16384 and (-128) * 127 = -16256.
//
// Comparison RTL: tritium's accelerator is tri_mac_array; this exists so
// that the FPGA flow (fpga/) can synthesize an INT8 array of the same shape
// in the same style with the same tools.

module int8_pe (
  input  logic [7:0]  w_i,     // int8 weight, two's complement
  input  logic [7:0]  a_i,     // int8 activation, two's complement
  output logic [15:0] prod_o,  // w_i * a_i, two's complement
  output logic        nz_o     // the weight is nonzero (statistics only)
);

  logic signed [7:0] w_s, a_s;  // the operands as signed

  assign w_s    = w_i;
  assign a_s    = a_i;
  // Context width 16 (prod_o): both signed operands are sign-extended first.
  assign prod_o = w_s * a_s;
  assign nz_o   = (w_i != 8'd0);

  ////////////////
  // Assertions //
  ////////////////

`ifndef SYNTHESIS
  logic signed [31:0] prod_ref;  // reference product in 32 bits, independent of the datapath

  always_comb begin
    prod_ref = 32'($signed(w_i)) * 32'($signed(a_i));
    // Simulation-only assertion code, not measured: a 2-state simulator
    // (Verilator) has no X, so the X guard's implicit else branch can never
    // be taken and the line would never count as covered.
    // verilator coverage_off
    if (`TRI_KNOWN({w_i, a_i})) begin
      `TRI_ASSERT_FINAL(ProdRef_A, 32'($signed(prod_o)) == prod_ref,
          ("%m: product %0d != reference %0d", $signed(prod_o), prod_ref))
    end
    // verilator coverage_on
  end
`endif

endmodule
