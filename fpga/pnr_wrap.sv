// Copyright tritium contributors.
//
// Place-and-route wrappers of the FPGA flow (fpga/README.md). An array has
// far more ports than an iCE40 package has pins, so for nextpnr each design
// is wrapped in shift registers, reached through four pins:
//
//   sin_i   serial input: shifted every cycle into in_q, a register as wide
//           as all the design's inputs (data and control alike);
//   load_i  1: out_q loads every output of the design in parallel;
//           0: out_q shifts right by one;
//   sout_o  out_q[0].
//
// Every input of the design is then a register output and every output
// feeds a register through one multiplexer, so the Fmax nextpnr reports is
// the design's own register-to-register timing (plus at most one LUT at its
// outputs), and synthesis cannot remove any part of the design. The
// wrappers' registers are not counted in the results: resource counts come
// from synthesizing the designs alone.
//
// Not part of rtl/files.f: only the P&R step of the flow reads this file.

module pnr_tri #(
  parameter int unsigned Cols  = 4,
  parameter int unsigned Lanes = 8,
  parameter int unsigned KMax  = 8192,
  localparam int unsigned AccW = $clog2(128 * KMax + 1) + 1,
  localparam int unsigned InW  = Cols * Lanes * 2 + Lanes * 8 + 6,
  localparam int unsigned OutW = 2 * Cols * AccW + 5 * 64 + 4
) (
  input  logic clk_i,
  input  logic rst_ni,
  input  logic sin_i,
  input  logic load_i,
  output logic sout_o
);

  logic [InW-1:0]  in_q;
  logic [OutW-1:0] out_q, outs;

  tri_mac_array #(
    .Cols  (Cols),
    .Lanes (Lanes),
    .KMax  (KMax)
  ) u_dut (
    .clk_i        (clk_i),
    .rst_ni       (rst_ni),
    .clear_i      (in_q[0]),
    .cnt_clear_i  (in_q[1]),
    .w_valid_i    (in_q[2]),
    .a_valid_i    (in_q[3]),
    .a_last_i     (in_q[4]),
    .r_ready_i    (in_q[5]),
    .w_data_i     (in_q[6 +: Cols*Lanes*2]),
    .a_data_i     (in_q[6 + Cols*Lanes*2 +: Lanes*8]),
    .w_ready_o    (outs[0]),
    .a_ready_o    (outs[1]),
    .r_valid_o    (outs[2]),
    .err_code_o   (outs[3]),
    .r_data_o     (outs[4 +: Cols*AccW]),
    .acc_o        (outs[4 + Cols*AccW +: Cols*AccW]),
    .cnt_cycles_o (outs[4 + 2*Cols*AccW +: 64]),
    .cnt_busy_o   (outs[4 + 2*Cols*AccW + 64 +: 64]),
    .cnt_stall_o  (outs[4 + 2*Cols*AccW + 128 +: 64]),
    .cnt_adds_o   (outs[4 + 2*Cols*AccW + 192 +: 64]),
    .cnt_skips_o  (outs[4 + 2*Cols*AccW + 256 +: 64])
  );

  always_ff @(posedge clk_i) begin
    in_q  <= {in_q[InW-2:0], sin_i};
    out_q <= load_i ? outs : {1'b0, out_q[OutW-1:1]};
  end

  assign sout_o = out_q[0];

endmodule

module pnr_int8 #(
  parameter int unsigned Cols  = 4,
  parameter int unsigned Lanes = 8,
  parameter int unsigned KMax  = 8192,
  localparam int unsigned AccW = $clog2(16384 * KMax + 1) + 1,
  localparam int unsigned InW  = Cols * Lanes * 8 + Lanes * 8 + 6,
  localparam int unsigned OutW = 2 * Cols * AccW + 5 * 64 + 3
) (
  input  logic clk_i,
  input  logic rst_ni,
  input  logic sin_i,
  input  logic load_i,
  output logic sout_o
);

  logic [InW-1:0]  in_q;
  logic [OutW-1:0] out_q, outs;

  int8_mac_array #(
    .Cols  (Cols),
    .Lanes (Lanes),
    .KMax  (KMax)
  ) u_dut (
    .clk_i        (clk_i),
    .rst_ni       (rst_ni),
    .clear_i      (in_q[0]),
    .cnt_clear_i  (in_q[1]),
    .w_valid_i    (in_q[2]),
    .a_valid_i    (in_q[3]),
    .a_last_i     (in_q[4]),
    .r_ready_i    (in_q[5]),
    .w_data_i     (in_q[6 +: Cols*Lanes*8]),
    .a_data_i     (in_q[6 + Cols*Lanes*8 +: Lanes*8]),
    .w_ready_o    (outs[0]),
    .a_ready_o    (outs[1]),
    .r_valid_o    (outs[2]),
    .r_data_o     (outs[3 +: Cols*AccW]),
    .acc_o        (outs[3 + Cols*AccW +: Cols*AccW]),
    .cnt_cycles_o (outs[3 + 2*Cols*AccW +: 64]),
    .cnt_busy_o   (outs[3 + 2*Cols*AccW + 64 +: 64]),
    .cnt_stall_o  (outs[3 + 2*Cols*AccW + 128 +: 64]),
    .cnt_adds_o   (outs[3 + 2*Cols*AccW + 192 +: 64]),
    .cnt_skips_o  (outs[3 + 2*Cols*AccW + 256 +: 64])
  );

  always_ff @(posedge clk_i) begin
    in_q  <= {in_q[InW-2:0], sin_i};
    out_q <= load_i ? outs : {1'b0, out_q[OutW-1:1]};
  end

  assign sout_o = out_q[0];

endmodule

module pnr_fp16 #(
  parameter int unsigned Cols  = 1,  // Cols x Lanes independent fp16_mac_pe
  parameter int unsigned Lanes = 1,
  parameter int unsigned KMax  = 8192,  // unused; same parameter set as the others
  localparam int unsigned N    = Cols * Lanes,
  localparam int unsigned InW  = N * 32 + 2,
  localparam int unsigned OutW = N * 16
) (
  input  logic clk_i,
  input  logic rst_ni,
  input  logic sin_i,
  input  logic load_i,
  output logic sout_o
);

  logic [InW-1:0]  in_q;
  logic [OutW-1:0] out_q, outs;

  for (genvar i = 0; i < N; i++) begin : gen_pe
    fp16_mac_pe u_dut (
      .clk_i   (clk_i),
      .rst_ni  (rst_ni),
      .clear_i (in_q[0]),
      .valid_i (in_q[1]),
      .a_i     (in_q[2 + 32*i +: 16]),
      .b_i     (in_q[2 + 32*i + 16 +: 16]),
      .acc_o   (outs[16*i +: 16])
    );
  end

  always_ff @(posedge clk_i) begin
    in_q  <= {in_q[InW-2:0], sin_i};
    out_q <= load_i ? outs : {1'b0, out_q[OutW-1:1]};
  end

  assign sout_o = out_q[0];

  // KMax only keeps the three wrappers' parameter sets alike.
  logic unused_kmax;
  assign unused_kmax = ^KMax;

endmodule
