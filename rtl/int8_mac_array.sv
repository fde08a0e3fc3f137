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
// Pipeline, handshakes, tile rules and counters: the same as tri_mac_array
// by construction (see its header and rtl/INTERFACE.md): both instantiate
// mac_array_ctrl (u_ctrl); latency 2, one beat per cycle.
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

  localparam int unsigned WgtW  = 8;                // bits per int8 weight
  localparam int unsigned ActW  = 8;                // bits per int8 activation
  localparam int unsigned TermW = 16;              // bits per signed lane product

  // Width of one column's lane sum: TermW + one bit per adder-tree level.
  localparam int unsigned SumW  = TermW + $clog2(Lanes);
  // Lanes summed over all columns.
  localparam int unsigned NumPe = Cols * Lanes;

  /////////////
  // Control //
  /////////////

  // Handshakes, stage-1 control flags, tile rules, counters and protocol
  // assertions: mac_array_ctrl, shared with int8_mac_array.
  logic                 accept;     // a beat (weights + activations) is accepted this cycle
  logic                 s1_vld;     // sum_q holds an accepted beat
  logic                 acc_clr;    // zero the accumulators (clear_i or result handshake)
  logic [NumPe-1:0]     lane_add;   // per lane (index c*Lanes + l): weight nonzero
  logic [NumPe-1:0]     lane_skip;  // weight zero
  logic [Cols*AccW-1:0] acc_q, acc_d;

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
    .w_ready_o    (w_ready_o),
    .w_data_i     (w_data_i),
    .a_valid_i    (a_valid_i),
    .a_ready_o    (a_ready_o),
    .a_data_i     (a_data_i),
    .a_last_i     (a_last_i),
    .r_valid_o    (r_valid_o),
    .r_ready_i    (r_ready_i),
    .r_data_i     (acc_q),
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

  /////////////////////////////////////////////
  // Stage 0: PEs and per-column adder trees //
  /////////////////////////////////////////////

  logic [Cols*SumW-1:0] col_sum;  // column c at [SumW*c +: SumW]

  for (genvar c = 0; c < Cols; c++) begin : gen_col
    logic [Lanes*TermW-1:0] terms;  // lane l product at [TermW*l +: TermW]

    for (genvar l = 0; l < Lanes; l++) begin : gen_lane
      int8_pe u_pe (
        .w_i    (w_data_i[WgtW*(c*Lanes + l) +: WgtW]),
        .a_i    (a_data_i[ActW*l +: ActW]),
        .prod_o (terms[TermW*l +: TermW]),
        .nz_o   (lane_add[c*Lanes + l])
      );
      assign lane_skip[c*Lanes + l] = ~lane_add[c*Lanes + l];
    end

    tri_adder_tree #(
      .N      (Lanes),
      .InW    (TermW),
      .Signed (1'b1)
    ) u_sum_tree (
      .terms_i (terms),
      .sum_o   (col_sum[SumW*c +: SumW])
    );
  end

  /////////////////////////////////////
  // Stage 1: registered column sums //
  /////////////////////////////////////

  logic [Cols*SumW-1:0] sum_q, sum_d;  // column sums of the beat (datapath, no reset)

  // Datapath registers only load on an accepted beat.
  assign sum_d = accept ? col_sum : sum_q;

  ///////////////////////////
  // Stage 2: accumulators //
  ///////////////////////////

  // Internal vectors are flat like the ports (column c at [W*c +: W]) so that
  // Yosys 0.23, which rejects packed multi-dimensional arrays, can read the RTL.
  logic [Cols*AccW-1:0] sum_ext;  // sum_q resized (sign-extended) to AccW
  logic [Cols*AccW-1:0] acc_sum;  // acc_q + sum_ext, per column

  for (genvar c = 0; c < Cols; c++) begin : gen_acc
    logic [SumW-1:0] sum_c;

    assign sum_c = sum_q[SumW*c +: SumW];

    if (SumW <= AccW) begin : gen_sext
      assign sum_ext[AccW*c +: AccW] = AccW'($signed(sum_c));
    end else begin : gen_trunc
      // Only for Lanes close to or above KMax (e.g. Lanes = KMax = 5): the tree
      // is wider than the accumulator, but a legal beat has at most KMax
      // nonzero lanes, so its sum fits in AccW bits and the dropped bits are
      // sign copies (asserted below).
      assign sum_ext[AccW*c +: AccW] = sum_c[AccW-1:0];
    end

    assign acc_sum[AccW*c +: AccW] = acc_q[AccW*c +: AccW] + sum_ext[AccW*c +: AccW];
  end

  always_comb begin
    acc_d = acc_q;
    if (acc_clr) begin
      // Result taken or tile dropped: the next tile starts from zero. A beat in
      // stage 1 during clear_i belongs to the dropped tile and is discarded.
      acc_d = '0;
    end else if (s1_vld) begin
      acc_d = acc_sum;
    end
  end

  assign r_data_o = acc_q;
  assign acc_o    = acc_q;

  ///////////////
  // Registers //
  ///////////////

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      acc_q <= '0;
    end else begin
      acc_q <= acc_d;
    end
  end

  // Datapath register: no reset, only read when s1_vld says so.
  always_ff @(posedge clk_i) begin
    sum_q <= sum_d;
  end

  ////////////////
  // Assertions //
  ////////////////

  // Elaboration-time parameter checks.
  if (Cols < 1 || Lanes < 1 || KMax < 1) begin : gen_param_check
    $error("int8_mac_array: Cols, Lanes and KMax must be >= 1");
  end
  if (KMax > (1 << 16)) begin : gen_kmax_check
    $error("int8_mac_array: KMax must be <= 2^16 (16384 * KMax must fit in 31 bits)");
  end

`ifndef SYNTHESIS
  // The protocol assertions (rules 1, 3, 4, 5) are in mac_array_ctrl (u_ctrl).

  // No accumulator overflow (backs up TileBeats_A: also catches a tile whose
  // nonzero lanes exceed KMax, possible when Lanes does not divide KMax).
  for (genvar c = 0; c < Cols; c++) begin : gen_acc_assert
    logic [AccW-1:0] acc_c, sum_ext_c;
    logic [AccW:0]   acc_wide;  // acc_q + sum_ext with one bit of headroom

    assign acc_c     = acc_q[AccW*c +: AccW];
    assign sum_ext_c = sum_ext[AccW*c +: AccW];
    assign acc_wide  = {acc_c[AccW-1], acc_c} + {sum_ext_c[AccW-1], sum_ext_c};

    AccNoOverflow_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
        s1_vld && !clear_i |-> acc_wide[AccW] == acc_wide[AccW-1])
      else $error("%m: accumulator of column %0d overflows", c);

    if (SumW > AccW) begin : gen_trunc_assert
      SumFits_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
          s1_vld |-> gen_acc[c].sum_c[SumW-1:AccW-1] == '0 ||
                     gen_acc[c].sum_c[SumW-1:AccW-1] == '1)
        else $error("%m: column %0d beat sum does not fit AccW", c);
    end
  end
`endif

endmodule
