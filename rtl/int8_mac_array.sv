// Copyright tritium contributors.
//
// int8_mac_array: INT8 x INT8 (W8A8) MAC array, the comparison twin of
// tri_mac_array. Comparison RTL: tritium's accelerator is tri_mac_array; this
// exists so that the FPGA flow (fpga/) synthesizes an INT8 array of the same
// shape, with the same handshakes, pipeline and counters, in the same style.
// Only the datapath differs:
//
//   * a weight is int8 (8 bits per lane instead of a 2-bit ternary code), and
//     each lane is an int8_pe: a real signed 8 x 8 multiplier (16-bit product);
//   * the width-growing tri_adder_tree sums 16-bit products instead of 9-bit terms;
//   * AccW = $clog2(16384 * KMax + 1) + 1: the extremes are +16384 * KMax
//     (all weights and activations -128) and -16256 * KMax (KMax = 8192: 29 bits);
//   * there is no invalid weight code, hence no err_code_o; cnt_adds_o counts
//     lanes with a nonzero weight (multiply-adds issued), cnt_skips_o lanes
//     with a zero weight (a real INT8 datapath still spends the multiply).
//
// Beat format (one weight beat + one activation beat per accepted cycle):
//
//   w_data_i[8*(c*Lanes + l) +: 8]  weight of column c, lane l, two's complement
//   a_data_i[8*l +: 8]              activation of lane l, two's complement
//   r_data_o[AccW*c +: AccW]         result of column c, two's complement (acc_o alike)
//
// Pipeline, handshakes, tile rules, counters, column adder trees and
// accumulators: the same as tri_mac_array by construction (see its header and
// rtl/INTERFACE.md): both instantiate mac_array_ctrl (u_ctrl) and
// mac_array_acc (u_acc); latency 2, one beat per cycle. This file holds only
// the int8_pe lanes.
//
// Every `*` in this file is elaboration-time arithmetic on parameters and
// genvars, except the multiplier inside int8_pe.

module int8_mac_array #(
  parameter int unsigned Cols  = 4,     // output channels computed in parallel
  parameter int unsigned Lanes = 8,     // int8 activations per beat
  parameter int unsigned KMax  = 8192,  // largest K (inputs per output row)
  localparam int unsigned AccW = $clog2(16384 * KMax + 1) + 1
) (
  input  logic                                 clk_i,
  input  logic                                 rst_ni,

  input  logic                                 clear_i,
  input  logic                                 cnt_clear_i,

  // Weight stream.
  input  logic                                 w_valid_i,
  output logic                                 w_ready_o,
  input  logic [Cols*Lanes*8-1:0]              w_data_i,

  // Activation stream.
  input  logic                                 a_valid_i,
  output logic                                 a_ready_o,
  input  logic [Lanes*8-1:0]                   a_data_i,
  input  logic                                 a_last_i,

  // Result stream.
  output logic                                 r_valid_o,
  input  logic                                 r_ready_i,
  output logic [Cols*AccW-1:0]                 r_data_o,

  // Debug and statistics.
  output logic [Cols*AccW-1:0]                 acc_o,
  output logic [63:0]                          cnt_cycles_o,
  output logic [63:0]                          cnt_busy_o,
  output logic [63:0]                          cnt_stall_o,
  output logic [63:0]                          cnt_adds_o,
  output logic [63:0]                          cnt_skips_o
);

  ///////////////////////
  // Derived constants //
  ///////////////////////

  localparam int unsigned WgtW  = 8;   // bits per int8 weight
  localparam int unsigned ActW  = 8;   // bits per int8 activation
  localparam int unsigned TermW = 16;  // bits per signed lane product

  // Lanes over all columns.
  localparam int unsigned NumPe = Cols * Lanes;

  /////////////
  // Control //
  /////////////

  // Handshakes, stage-1 control flags, tile rules, counters and protocol
  // assertions: mac_array_ctrl, shared with tri_mac_array.
  logic             accept;     // a beat (weights + activations) is accepted this cycle
  logic             s1_vld;     // stage 1 (u_acc) holds an accepted beat
  logic             acc_clr;    // zero the accumulators (clear_i or result handshake)
  logic [NumPe-1:0] lane_add;   // per lane (index c*Lanes + l): weight nonzero
  logic [NumPe-1:0] lane_skip;  // weight zero

  mac_array_ctrl #(
    .Cols   (Cols),
    .Lanes  (Lanes),
    .KMax   (KMax),
    .WDataW (Cols*Lanes*WgtW),
    .ADataW (Lanes*ActW),
    .RDataW (Cols*AccW)
  ) u_ctrl (
    .clk_i        (clk_i),
    .rst_ni       (rst_ni),
    .clear_i      (clear_i),
    .cnt_clear_i  (cnt_clear_i),
    .w_valid_i    (w_valid_i),
    .a_valid_i    (a_valid_i),
    .a_last_i     (a_last_i),
    .r_valid_o    (r_valid_o),
    .w_ready_o    (w_ready_o),
    .a_ready_o    (a_ready_o),
    .r_ready_i    (r_ready_i),
    .w_data_i     (w_data_i),
    .a_data_i     (a_data_i),
    .r_data_i     (r_data_o),
    .accept_o     (accept),
    .s1_vld_o     (s1_vld),
    .acc_clr_o    (acc_clr),
    .lane_add_i   (lane_add),
    .lane_skip_i  (lane_skip),
    .cnt_cycles_o (cnt_cycles_o),
    .cnt_busy_o   (cnt_busy_o),
    .cnt_stall_o  (cnt_stall_o),
    .cnt_adds_o   (cnt_adds_o),
    .cnt_skips_o  (cnt_skips_o)
  );

  /////////
  // PEs //
  /////////

  logic [NumPe*TermW-1:0] terms;  // product of lane l of column c at [TermW*(c*Lanes + l) +: TermW]

  for (genvar c = 0; c < Cols; c++) begin : gen_col
    for (genvar l = 0; l < Lanes; l++) begin : gen_lane
      int8_pe u_pe (
        .w_i    (w_data_i[WgtW*(c*Lanes + l) +: WgtW]),
        .a_i    (a_data_i[ActW*l +: ActW]),
        .prod_o (terms[TermW*(c*Lanes + l) +: TermW]),
        .nz_o   (lane_add[c*Lanes + l])
      );
    end
  end

  assign lane_skip = ~lane_add;

  //////////////////////////////////
  // Column sums and accumulators //
  //////////////////////////////////

  // Per-column adder trees, stage-1 column sums, accumulators and their
  // assertions: mac_array_acc, shared with tri_mac_array.
  mac_array_acc #(
    .Cols  (Cols),
    .Lanes (Lanes),
    .TermW (TermW),
    .AccW  (AccW)
  ) u_acc (
    .clk_i     (clk_i),
    .rst_ni    (rst_ni),
    .accept_i  (accept),
    .s1_vld_i  (s1_vld),
    .acc_clr_i (acc_clr),
    .terms_i   (terms),
    .acc_o     (acc_o)
  );

  // The accumulators are the result register (frozen while a result is pending).
  assign r_data_o = acc_o;

  // Elaboration-time parameter check (Cols, Lanes, KMax >= 1: mac_array_ctrl).
  if (KMax > (1 << 16)) begin : gen_kmax_check
    $error("int8_mac_array: KMax must be <= 2^16 (16384 * KMax must fit in 31 bits)");
  end

  // Assertions: the protocol in mac_array_ctrl (u_ctrl), the accumulators in
  // mac_array_acc (u_acc).

`ifndef SYNTHESIS
  // ---- Cover points (`make coverage` requires every one to be hit) ----
  // Per lane, on accepted beats: the int8 weight extremes -128 and 127 and
  // a zero weight in each column, and the activation extremes -128 and 127
  // (the extreme products +16384 and -16256 come from these).
  for (genvar c = 0; c < Cols; c++) begin : gen_cov_col
    for (genvar l = 0; l < Lanes; l++) begin : gen_cov_lane
      logic [WgtW-1:0] w;
      assign w = w_data_i[WgtW*(c*Lanes + l) +: WgtW];
      `TRI_COVER(WeightMin_C, accept && w == 8'h80)
      `TRI_COVER(WeightMax_C, accept && w == 8'h7f)
      `TRI_COVER(WeightZero_C, accept && w == 8'h00)
    end
  end
  for (genvar l = 0; l < Lanes; l++) begin : gen_cov_act
    `TRI_COVER(ActMin_C, accept && a_data_i[ActW*l +: ActW] == 8'h80)
    `TRI_COVER(ActMax_C, accept && a_data_i[ActW*l +: ActW] == 8'h7f)
  end
`endif

endmodule
