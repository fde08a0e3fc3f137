// Copyright tritium contributors.
//
// fv_fifo: tri_fifo keeps order, loses and duplicates nothing, and keeps its
// output protocol. The producer writes its push count as the data (a FIFO
// never looks at its data, so a tag per entry shows every data pattern's
// fate): the head must then always carry the pop count, and the FIFO must
// hold exactly pushes - pops entries. Also: the head holds (valid and data)
// until popped, a full FIFO is not ready, an empty one not valid.
//
// The data property (FifoOrder_A) is bounded: k-induction cannot see the
// storage's contents. With CTRL_ONLY it is left out and the control
// properties (counts, pointers, handshakes) are proven unbounded.

module fv_fifo #(
  parameter int unsigned Depth = 3,
  parameter int unsigned Width = 4
) (
  input logic clk_i,
  input logic rst_ni,
  input logic wvalid_i,
  input logic rready_i
);
  localparam int unsigned CntW = $clog2(Depth + 1);
  logic             wready, rvalid;
  logic [Width-1:0] rdata, pushes_q, pops_q;
  logic [CntW-1:0]  count;

  tri_fifo #(
    .Width (Width),
    .Depth (Depth)
  ) dut (
    .clk_i    (clk_i),
    .rst_ni   (rst_ni),
    .wvalid_i (wvalid_i),
    .wready_o (wready),
    .wdata_i  (pushes_q),
    .rvalid_o (rvalid),
    .rready_i (rready_i),
    .rdata_o  (rdata),
    .count_o  (count)
  );

  initial assume (!rst_ni);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      pushes_q <= '0;
      pops_q   <= '0;
    end else begin
      pushes_q <= pushes_q + Width'(wvalid_i && wready);
      pops_q   <= pops_q + Width'(rvalid && rready_i);
    end
  end

  always @(posedge clk_i) begin
    if (rst_ni) begin
      FifoCount_A: assert (Width'(count) == pushes_q - pops_q);
`ifndef CTRL_ONLY
      FifoOrder_A: assert (!rvalid || rdata == pops_q);
`endif
      FifoFullNotReady_A: assert (wready == (count < CntW'(Depth)));
      FifoEmptyNotValid_A: assert (rvalid == (count != '0));
      if ($past(rst_ni) && $past(rvalid && !rready_i)) begin
        FifoHeadHold_A: assert (rvalid && $stable(rdata));
      end
    end
  end
endmodule
