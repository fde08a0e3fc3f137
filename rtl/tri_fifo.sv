// Copyright tritium contributors.
//
// tri_fifo: synchronous first-in first-out buffer with valid/ready on both
// sides (after OpenTitan's prim_fifo_sync, without its pass-through mode).
//
//   * wready_o = "count < Depth" and rvalid_o = "count > 0" come from
//     registers only (no combinational path from rready_i to wready_o or from
//     wvalid_i to rvalid_o): a push is seen at the output the next cycle.
//   * Full throughput: with a consumer that pops whenever rvalid_o, one push
//     and one pop per cycle go on forever with Depth >= 2 (the count never
//     reaches Depth). A push into a full FIFO waits even if it is popped in
//     the same cycle (the price of a registered ready).
//   * rdata_o is the head entry, read combinationally from the storage
//     (registers, or distributed RAM on an FPGA); meaningful while rvalid_o.
//
// The storage is written by index in an always_ff (the one exception to
// `_q <= _d`, as in the OpenTitan primitives' storage); it has no reset.

module tri_fifo #(
  parameter int unsigned Width = 8,  // bits per entry, >= 1
  parameter int unsigned Depth = 2,  // entries, >= 1
  localparam int unsigned PtrW = (Depth > 1) ? $clog2(Depth) : 1,
  localparam int unsigned CntW = $clog2(Depth + 1)
) (
  input  logic             clk_i,
  input  logic             rst_ni,

  input  logic             wvalid_i,
  output logic             wready_o,
  input  logic [Width-1:0] wdata_i,

  output logic             rvalid_o,
  input  logic             rready_i,
  output logic [Width-1:0] rdata_o,

  output logic [CntW-1:0]  count_o   // entries held
);

  logic [Width-1:0] storage [Depth];
  logic [PtrW-1:0]  wptr_q, wptr_d;
  logic [PtrW-1:0]  rptr_q, rptr_d;
  logic [CntW-1:0]  count_q, count_d;
  logic             push, pop;

  assign wready_o = (count_q < CntW'(Depth));
  assign rvalid_o = (count_q != '0);
  assign push     = wvalid_i & wready_o;
  assign pop      = rvalid_o & rready_i;
  assign rdata_o  = storage[rptr_q];
  assign count_o  = count_q;

  // Pointer increments with wrap-around at Depth (need not be a power of two).
  logic [PtrW-1:0] wptr_inc, rptr_inc;
  assign wptr_inc = (wptr_q == PtrW'(Depth - 1)) ? '0 : wptr_q + PtrW'(1);
  assign rptr_inc = (rptr_q == PtrW'(Depth - 1)) ? '0 : rptr_q + PtrW'(1);

  always_comb begin
    wptr_d  = push ? wptr_inc : wptr_q;
    rptr_d  = pop ? rptr_inc : rptr_q;
    count_d = count_q + CntW'(push) - CntW'(pop);
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wptr_q  <= '0;
      rptr_q  <= '0;
      count_q <= '0;
    end else begin
      wptr_q  <= wptr_d;
      rptr_q  <= rptr_d;
      count_q <= count_d;
    end
  end

  // Storage: written by index, no reset (datapath).
  always_ff @(posedge clk_i) begin
    if (push) begin
      storage[wptr_q] <= wdata_i;
    end
  end

  ////////////////
  // Assertions //
  ////////////////

  if (Width < 1 || Depth < 1) begin : gen_param_check
    $error("tri_fifo: Width and Depth must be >= 1");
  end

`ifndef SYNTHESIS
  `TRI_ASSERT(CountRange_A, count_q <= CntW'(Depth),
      ("%m: count %0d exceeds Depth %0d", count_q, Depth))
  // The pointers stay below Depth (which need not be a power of two) and
  // agree with the count (wptr = rptr + count, modulo Depth).
  `TRI_ASSERT(PtrRange_A, 32'(wptr_q) < Depth && 32'(rptr_q) < Depth,
      ("%m: pointer out of range (write %0d, read %0d)", wptr_q, rptr_q))
  `TRI_ASSERT(PtrDist_A, 32'(wptr_q) == (32'(rptr_q) + 32'(count_q)) % Depth,
      ("%m: write pointer %0d != read pointer %0d + count %0d", wptr_q, rptr_q, count_q))
  `TRI_ASSERT(PtrCount_A, (count_q == '0 || count_q == CntW'(Depth)) == (wptr_q == rptr_q),
      ("%m: pointers and count disagree"))
  `TRI_ASSERT_KNOWN(KnownCtrl_A, {wvalid_i, rready_i, wready_o, rvalid_o},
      ("%m: unknown handshake"))
  `TRI_ASSERT_KNOWN_IF(KnownHead_A, rvalid_o,
      rdata_o,
      ("%m: head entry has unknown bits"))
`endif

endmodule
