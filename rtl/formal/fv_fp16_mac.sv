// Copyright tritium contributors.
//
// fv_fp16_mac: fp16_mac_pe (its CanonicalAcc_A: the accumulator only ever
// holds the canonical NaN) from reset, with free operands.

module fv_fp16_mac (
  input logic        clk_i,
  input logic        rst_ni,
  input logic        clear_i,
  input logic        valid_i,
  input logic [15:0] a_i,
  input logic [15:0] b_i
);
  logic [15:0] acc;

  fp16_mac_pe dut (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .clear_i (clear_i),
    .valid_i (valid_i),
    .a_i     (a_i),
    .b_i     (b_i),
    .acc_o   (acc)
  );

  initial assume (!rst_ni);
endmodule
