// Copyright tritium contributors.
//
// Place-and-route wrapper of the FPGA flow (fpga/README.md). An array has
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
// wrapper's registers are not counted in the results: resource counts come
// from synthesizing the designs alone.
//
// One module for every design: Design selects what is wrapped (generate-if),
// and InW / OutW, the total width of the design's inputs and of its outputs,
// come from the flow (fpga/src/flow.rs, pnr_wrap_widths), which computes them
// from Cols, Lanes and KMax. The wrapper does not repeat the designs' width
// formulas (e.g. the accumulator width): it derives the width of each
// variable-width port from InW / OutW and the fixed-width ports around it. A
// wrong InW / OutW is a port width mismatch (a Verilator -Wall warning;
// rtl/lint.sh lints the wrapper around every design) or fails one of the
// elaboration checks below.
//
// Bit layout (LSB first):
//
//   Design 0 (tri_mac_array) and 1 (int8_mac_array):
//     in_q : clear_i, cnt_clear_i, w_valid_i, a_valid_i, a_last_i, r_ready_i,
//            w_data_i, a_data_i (Lanes*8 bits)
//     outs : w_ready_o, a_ready_o, r_valid_o, [err_code_o: Design 0 only],
//            r_data_o, acc_o (equal widths), cnt_cycles_o, cnt_busy_o,
//            cnt_stall_o, cnt_adds_o, cnt_skips_o (64 bits each)
//   Design 2 (Cols*Lanes independent fp16_mac_pe, KMax unused):
//     in_q : clear_i, valid_i (shared), then per unit i: a_i, b_i (16 bits each)
//     outs : per unit i: acc_o (16 bits)
//
// Not part of rtl/files.f: only the P&R step of the flow reads this file.

module pnr_wrap #(
  parameter int unsigned Design = 0,     // 0: tri_mac_array, 1: int8_mac_array, 2: fp16_mac_pe
  parameter int unsigned Cols   = 4,     // array shape (Design 2: Cols*Lanes units)
  parameter int unsigned Lanes  = 8,
  parameter int unsigned KMax   = 8192,  // Design 0 and 1 only
  // Total width of the design's inputs / outputs, from the flow (defaults: 4x8 ternary).
  parameter int unsigned InW    = 134,
  parameter int unsigned OutW   = 500
) (
  input  logic clk_i,
  input  logic rst_ni,
  input  logic sin_i,
  input  logic load_i,
  output logic sout_o
);

  localparam int unsigned DesignTri  = 0;
  localparam int unsigned DesignInt8 = 1;
  localparam int unsigned DesignFp16 = 2;

  logic [InW-1:0]  in_q;
  logic [OutW-1:0] out_q, outs;

  if (Design == DesignTri || Design == DesignInt8) begin : gen_array
    // Inputs: 6 control bits, then w_data_i, then a_data_i (int8 activations).
    localparam int unsigned NumCtrlIn  = 6;
    localparam int unsigned ADataW     = Lanes * 8;
    localparam int unsigned WDataW     = InW - NumCtrlIn - ADataW;
    // Outputs: the control bits, then r_data_o and acc_o, then five counters.
    localparam int unsigned NumCtrlOut = (Design == DesignTri) ? 4 : 3;
    localparam int unsigned NumCntW    = 5 * 64;
    localparam int unsigned RDataW     = (OutW - NumCtrlOut - NumCntW) / 2;
    localparam int unsigned RDataLsb   = NumCtrlOut;
    localparam int unsigned CntLsb     = NumCtrlOut + 2 * RDataW;

    if (InW <= NumCtrlIn + ADataW || OutW <= NumCtrlOut + NumCntW ||
        (OutW - NumCtrlOut - NumCntW) % 2 != 0) begin : gen_width_check
      $error("pnr_wrap: InW = %0d / OutW = %0d do not fit design %0d", InW, OutW, Design);
    end

    if (Design == DesignTri) begin : gen_tri
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
        .w_data_i     (in_q[NumCtrlIn +: WDataW]),
        .a_data_i     (in_q[NumCtrlIn + WDataW +: ADataW]),
        .w_ready_o    (outs[0]),
        .a_ready_o    (outs[1]),
        .r_valid_o    (outs[2]),
        .err_code_o   (outs[3]),
        .r_data_o     (outs[RDataLsb +: RDataW]),
        .acc_o        (outs[RDataLsb + RDataW +: RDataW]),
        .cnt_cycles_o (outs[CntLsb +: 64]),
        .cnt_busy_o   (outs[CntLsb + 64 +: 64]),
        .cnt_stall_o  (outs[CntLsb + 128 +: 64]),
        .cnt_adds_o   (outs[CntLsb + 192 +: 64]),
        .cnt_skips_o  (outs[CntLsb + 256 +: 64])
      );
    end else begin : gen_int8
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
        .w_data_i     (in_q[NumCtrlIn +: WDataW]),
        .a_data_i     (in_q[NumCtrlIn + WDataW +: ADataW]),
        .w_ready_o    (outs[0]),
        .a_ready_o    (outs[1]),
        .r_valid_o    (outs[2]),
        .r_data_o     (outs[RDataLsb +: RDataW]),
        .acc_o        (outs[RDataLsb + RDataW +: RDataW]),
        .cnt_cycles_o (outs[CntLsb +: 64]),
        .cnt_busy_o   (outs[CntLsb + 64 +: 64]),
        .cnt_stall_o  (outs[CntLsb + 128 +: 64]),
        .cnt_adds_o   (outs[CntLsb + 192 +: 64]),
        .cnt_skips_o  (outs[CntLsb + 256 +: 64])
      );
    end
  end

  if (Design == DesignFp16) begin : gen_fp16
    localparam int unsigned N = Cols * Lanes;  // independent MAC units

    if (InW != 2 + 32 * N || OutW != 16 * N) begin : gen_width_check
      $error("pnr_wrap: InW = %0d / OutW = %0d do not fit %0d fp16_mac_pe", InW, OutW, N);
    end

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

    // KMax only keeps the parameter set of every design alike.
    logic unused_kmax;
    assign unused_kmax = ^KMax;
  end

  if (Design > DesignFp16) begin : gen_design_check
    $error("pnr_wrap: Design = %0d (0: ternary, 1: INT8, 2: FP16)", Design);
  end

  always_ff @(posedge clk_i) begin
    in_q  <= {in_q[InW-2:0], sin_i};
    out_q <= load_i ? outs : {1'b0, out_q[OutW-1:1]};
  end

  assign sout_o = out_q[0];

endmodule
