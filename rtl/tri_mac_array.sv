// Copyright tritium contributors.
//
// tri_mac_array: add-only ternary (W1.58A8) MAC array. Contract: rtl/INTERFACE.md.
//
// Cols columns (output channels) share one broadcast beat of Lanes int8
// activations. Each column has Lanes tri_pe lanes (weight code -> +a, -a or 0),
// a width-growing tri_adder_tree over the lanes and one AccW-bit accumulator.
// There is no multiplier in the datapath.
//
// Beat format (one weight beat + one activation beat per accepted cycle):
//
//   w_data_i[2*(c*Lanes + l) +: 2]  code of column c, lane l (0: -1, 1: 0, 2: +1, 3: invalid)
//   a_data_i[8*l +: 8]              activation of lane l, two's complement
//   r_data_o[AccW*c +: AccW]         result of column c, two's complement (acc_o alike)
//
// Pipeline (latency 2, throughput 1 beat per cycle within a tile):
//
//   cycle T   : beat accepted (w_valid_i & a_valid_i & ready). PEs and adder
//               trees compute the column sums combinationally from the ports;
//               they, the beat's add/skip counts and the last flag are
//               registered at the end of T (stage 1: sum_q in u_acc, s1_*_q
//               in u_ctrl).
//   cycle T+1 : acc_q += sum_q (stage 2); cnt_adds/cnt_skips += the beat's counts.
//               If the beat was the last one, r_valid_q is set at the end of T+1.
//   cycle T+2 : r_valid_o = 1, r_data_o = acc_q (the accumulators themselves:
//               they are frozen while a result is pending, so no separate
//               result register is needed).
//
//   The input ready (w_ready_o == a_ready_o) drops the cycle after the last
//   beat of a tile is accepted and rises again the cycle after the result
//   handshake (r_valid_o & r_ready_i). With both inputs always valid and
//   r_ready_i held high, a tile of B beats therefore takes B + 2 cycles: B
//   beats back to back, then two cycles without input (T+1 drain, T+2 result
//   handshake); the next tile's first beat is accepted in T+3.
//
// Accumulator width: AccW = $clog2(128 * KMax + 1) + 1. The extremes are
// +128 * KMax (all weights -1, all activations -128) and -128 * KMax; the
// positive one needs the extra bit (KMax = 8192: 22 bits). Overflow is
// impossible as long as at most KMax lanes of a tile carry a nonzero term; the
// beat count per tile is asserted to be <= ceil(KMax / Lanes) and the
// accumulator update itself is asserted not to overflow.
//
// acc_o (= r_data_o) shows the accumulators; a beat accepted in cycle T is
// visible there from cycle T+2.
//
// Structure: this file holds the PEs, the sticky err_code_o flag and its
// assertions. Shared with int8_mac_array are the control, mac_array_ctrl
// (instance u_ctrl: handshakes, pending/ready, the stage-1 valid/last/count
// flags, the beat counter, the five counters, the protocol assertions), and
// everything after the PEs, mac_array_acc (instance u_acc: the column adder
// trees, the stage-1 column sums, the accumulators and their assertions).
//
// Every `*` in this file, in mac_array_acc.sv and in tri_adder_tree.sv is
// elaboration-time arithmetic on parameters and genvars (widths, bit offsets),
// never hardware.

module tri_mac_array #(
  parameter int unsigned Cols  = 4,     // output channels computed in parallel
  parameter int unsigned Lanes = 8,     // int8 activations per beat
  parameter int unsigned KMax  = 8192,  // largest K (inputs per output row)
  localparam int unsigned AccW = $clog2(128 * KMax + 1) + 1
) (
  input  logic                                 clk_i,
  input  logic                                 rst_ni,

  input  logic                                 clear_i,
  input  logic                                 cnt_clear_i,

  // Weight stream.
  input  logic                                 w_valid_i,
  output logic                                 w_ready_o,
  input  logic [Cols*Lanes*tri_pkg::CodeW-1:0] w_data_i,

  // Activation stream.
  input  logic                                 a_valid_i,
  output logic                                 a_ready_o,
  input  logic [Lanes*tri_pkg::ActW-1:0]       a_data_i,
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
  output logic [63:0]                          cnt_skips_o,
  output logic                                 err_code_o
);

  ///////////////////////
  // Derived constants //
  ///////////////////////

  localparam int unsigned CodeW = tri_pkg::CodeW;  // bits per weight code
  localparam int unsigned ActW  = tri_pkg::ActW;   // bits per activation
  localparam int unsigned TermW = tri_pkg::TermW;  // bits per signed lane term

  // Lanes over all columns.
  localparam int unsigned NumPe = Cols * Lanes;

  /////////////
  // Control //
  /////////////

  // Handshakes, stage-1 control flags, tile rules, counters and protocol
  // assertions: mac_array_ctrl, shared with int8_mac_array.
  logic             accept;     // a beat (weights + activations) is accepted this cycle
  logic             s1_vld;     // stage 1 (u_acc) holds an accepted beat
  logic             acc_clr;    // zero the accumulators (clear_i or result handshake)
  logic [NumPe-1:0] lane_add;   // per lane (index c*Lanes + l): code 0 or 2
  logic [NumPe-1:0] lane_skip;  // code 1
  logic [NumPe-1:0] lane_inv;   // code 3

  mac_array_ctrl #(
    .Cols   (Cols),
    .Lanes  (Lanes),
    .KMax   (KMax),
    .WDataW (Cols*Lanes*CodeW),
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

  logic [NumPe*TermW-1:0] terms;     // lane l of column c at [TermW*(c*Lanes + l) +: TermW]
  logic                   beat_inv;  // some lane of the beat holds code 3

  for (genvar c = 0; c < Cols; c++) begin : gen_col
    for (genvar l = 0; l < Lanes; l++) begin : gen_lane
      tri_pe u_pe (
        .code_i (w_data_i[CodeW*(c*Lanes + l) +: CodeW]),
        .act_i  (a_data_i[ActW*l +: ActW]),
        .term_o (terms[TermW*(c*Lanes + l) +: TermW]),
        .add_o  (lane_add[c*Lanes + l]),
        .skip_o (lane_skip[c*Lanes + l]),
        .inv_o  (lane_inv[c*Lanes + l])
      );
    end
  end

  assign beat_inv = |lane_inv;

  //////////////////////////////////
  // Column sums and accumulators //
  //////////////////////////////////

  // Per-column adder trees, stage-1 column sums, accumulators and their
  // assertions: mac_array_acc, shared with int8_mac_array.
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

  ///////////////////////
  // Invalid-code flag //
  ///////////////////////

  logic err_q, err_d;

  // Sticky until reset (neither clear_i nor cnt_clear_i clears it).
  assign err_d      = err_q | (accept & beat_inv);
  assign err_code_o = err_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      err_q <= 1'b0;
    end else begin
      err_q <= err_d;
    end
  end

  ////////////////
  // Assertions //
  ////////////////

  // Elaboration-time parameter check (Cols, Lanes, KMax >= 1: mac_array_ctrl).
  if (KMax > (1 << 23)) begin : gen_kmax_check
    $error("tri_mac_array: KMax must be <= 2^23 (128 * KMax must fit in 31 bits)");
  end

`ifndef SYNTHESIS
  // The protocol assertions (rules 1, 3, 4, 5) are in mac_array_ctrl (u_ctrl),
  // the accumulator assertions in mac_array_acc (u_acc).

  // No invalid code 3 on an accepted weight beat (also flagged on
  // err_code_o): a rule on the producer.
  `TRI_ASSUME_IMP(NoInvalidCode_A, accept,
      !beat_inv,
      ("%m: accepted weight beat holds the invalid code 3"))
  `TRI_ASSERT_KNOWN(KnownErrCode_A, err_code_o,
      ("%m: unknown err_code_o"))
`endif

endmodule
