// Copyright tritium contributors.
//
// tri_ram_sdp: simple dual-port RAM (one write port, one read port, one
// clock) with a synchronous read, the shape FPGA block RAM and ASIC SRAM
// macros implement:
//
//   write: if we_i, mem[waddr_i] <= wdata_i at the clock edge;
//   read : rdata_o = mem[raddr_i as of the previous clock edge], with the
//          contents before that edge ("read-first": a write at the same edge
//          to the same address is NOT seen; the user forwards it if needed).
//
// The memory is written by index and rdata_q loaded in an always_ff (the one
// exception to `_q <= _d`, as in OpenTitan's prim_ram_*); no reset (the
// contents and the read register are datapath). Reading an address that
// was never written returns unknown contents (Verilator: --x-initial).

module tri_ram_sdp #(
  parameter int unsigned Width = 8,  // bits per word, >= 1
  parameter int unsigned Depth = 2,  // words, >= 1
  localparam int unsigned AddrW = (Depth > 1) ? $clog2(Depth) : 1
) (
  input  logic             clk_i,

  input  logic             we_i,
  input  logic [AddrW-1:0] waddr_i,
  input  logic [Width-1:0] wdata_i,

  input  logic [AddrW-1:0] raddr_i,
  output logic [Width-1:0] rdata_o
);

  logic [Width-1:0] mem [Depth];
  logic [Width-1:0] rdata_q;

  always_ff @(posedge clk_i) begin
    if (we_i) begin
      mem[waddr_i] <= wdata_i;
    end
    rdata_q <= mem[raddr_i];
  end

  assign rdata_o = rdata_q;

  ////////////////
  // Assertions //
  ////////////////

  if (Width < 1 || Depth < 1) begin : gen_param_check
    $error("tri_ram_sdp: Width and Depth must be >= 1");
  end

`ifndef SYNTHESIS
  // Addresses stay inside the memory (matters when Depth is not a power of
  // two): rules on the inputs, in every cycle (this RAM has no reset). Not
  // the macros of tri_assert.svh, which disable a property during reset;
  // under FORMAL they are assumed of a top and asserted below one like the
  // TRI_ASSUME rules (rtl/formal/run.py).
`ifdef FORMAL
  always @(posedge clk_i) begin
    WAddrRange_A: assume (!we_i || {1'b0, waddr_i} < (AddrW + 1)'(Depth));
    RAddrRange_A: assume ({1'b0, raddr_i} < (AddrW + 1)'(Depth));
  end
`else
  WAddrRange_A: assert property (@(posedge clk_i) we_i |-> {1'b0, waddr_i} < (AddrW + 1)'(Depth))
    else $error("%m: write address %0d out of range", waddr_i);
  RAddrRange_A: assert property (@(posedge clk_i) {1'b0, raddr_i} < (AddrW + 1)'(Depth))
    else $error("%m: read address %0d out of range", raddr_i);
`endif
`endif

endmodule
