// Copyright tritium contributors.
//
// fv_counter: tri_counter (its NoWrap_A) from reset. The counter wraps after
// 2^32 cycles of the largest increment at the earliest, so NoWrap_A is
// checked to a stated bound (BMC), not proven: it is false without a bound.

module fv_counter (
  input logic        clk_i,
  input logic        rst_ni,
  input logic        clear_i,
  input logic [31:0] inc_i
);
  logic [63:0] count;

  tri_counter dut (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .clear_i (clear_i),
    .inc_i   (inc_i),
    .count_o (count)
  );

  initial assume (!rst_ni);
endmodule
