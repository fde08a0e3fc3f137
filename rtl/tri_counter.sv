// Copyright tritium contributors.
//
// tri_counter: one 64-bit statistics counter. Adds inc_i (zero-extended)
// every cycle; a clear_i cycle makes it read 0 in the next cycle and does not
// count its own increment (the rule of the array counters in
// rtl/INTERFACE.md).
//
// The increment is a fixed 32 bits rather than a parameter: Yosys 0.23
// fails (internal assertion in `hierarchy -chparam`) when a module with a
// single parameter is derived with two values under a re-derived top.

module tri_counter (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        clear_i,
  input  logic [31:0] inc_i,
  output logic [63:0] count_o
);

  logic [63:0] count_q, count_d;

  assign count_d = clear_i ? 64'd0 : count_q + 64'(inc_i);
  assign count_o = count_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      count_q <= '0;
    end else begin
      count_q <= count_d;
    end
  end

  ////////////////
  // Assertions //
  ////////////////

`ifndef SYNTHESIS
  // 64 bits never wrap in practice (2^64 cycles); a wrap would be a bug.
  `TRI_ASSERT_IMP(NoWrap_A, !clear_i,
      count_d >= count_q,
      ("%m: counter wrapped"))
  `TRI_ASSERT_KNOWN(KnownInc_A, {clear_i, inc_i},
      ("%m: unknown increment or clear"))
`endif

endmodule
