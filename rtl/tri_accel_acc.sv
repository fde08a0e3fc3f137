// Copyright tritium contributors.
//
// tri_accel_acc: column sums and the token-indexed accumulator bank of
// tri_accel (contract: rtl/INTERFACE.md, "tri_accel").
//
// An *issue* is one decoded weight word applied to one token's activation
// word. For an issue in cycle I (issue_i, from the top's issue control):
//
//   I   (S0): the PE terms (terms_i) are summed per column by a width-growing
//             tri_adder_tree; the column sums and the issue's tags are
//             registered (s1_*). The bank read of the issue's token is
//             started (tri_ram_sdp, synchronous read: raddr = tok_i).
//   I+1 (S1): read-modify-write of the token's accumulators:
//               acc_new = (first beat of the tile ? 0 : acc_old) + sum
//             where acc_old is the bank's read data, or, if the previous S1
//             operation (cycle I) wrote the same token, its value (wb_q):
//             the bank reads the contents before the write at the same
//             edge, so back-to-back updates of one token (tokens = 1) are
//             forwarded. Not the last beat: acc_new is written back. Last
//             beat: acc_new is the result, pushed to the result buffer
//             (res_valid_o); nothing is written (the next tile's first beat
//             overwrites the entry without reading it: no clear cycle).
//   I+2     : dbg_* show the issue's tags and acc_new (wb_q).
//
// The bank is a memory of TMax words of Cols*AccW bits (block RAM when TMax
// is large). Every `*` in this file is elaboration-time arithmetic.

module tri_accel_acc #(
  parameter int unsigned Cols  = 4,
  parameter int unsigned Lanes = 8,
  parameter int unsigned TMax  = 4,
  parameter int unsigned AccW  = 22,
  parameter int unsigned BeatW = 8,
  localparam int unsigned TermW = tri_pkg::TermW,
  localparam int unsigned TokW  = (TMax > 1) ? $clog2(TMax) : 1,
  localparam int unsigned SumW  = TermW + $clog2(Lanes)
) (
  input  logic                        clk_i,
  input  logic                        rst_ni,

  // S0: the issue of this cycle.
  input  logic                        issue_i,
  input  logic [TokW-1:0]             tok_i,
  input  logic                        first_i,   // first beat of its tile: no read
  input  logic                        last_i,    // last beat of its tile: result
  input  logic                        rlast_i,   // the run's final result
  input  logic [31:0]                 tile_i,    // debug tags
  input  logic [BeatW-1:0]            beat_i,
  input  logic [Cols*Lanes*TermW-1:0] terms_i,   // column c, lane l at [TermW*(c*Lanes+l) +: TermW]

  // S1: result push (one cycle per result; the top reserved the room).
  output logic                        res_valid_o,
  output logic [Cols*AccW-1:0]        res_data_o,
  output logic                        res_last_o,
  output logic                        s1_valid_o,  // an issue is in S1

  // Debug: every issue, two cycles after it.
  output logic                        dbg_valid_o,
  output logic [31:0]                 dbg_tile_o,
  output logic [BeatW-1:0]            dbg_beat_o,
  output logic [TokW-1:0]             dbg_token_o,
  output logic [Cols*AccW-1:0]        dbg_acc_o
);

  localparam int unsigned RowW = Cols * AccW;

  ////////////////////////////////////
  // S0: per-column lane adder trees //
  ////////////////////////////////////

  logic [Cols*SumW-1:0] col_sum;  // column c at [SumW*c +: SumW]

  for (genvar c = 0; c < Cols; c++) begin : gen_col
    tri_adder_tree #(
      .N      (Lanes),
      .InW    (TermW),
      .Signed (1'b1)
    ) u_sum_tree (
      .terms_i (terms_i[Lanes*TermW*c +: Lanes*TermW]),
      .sum_o   (col_sum[SumW*c +: SumW])
    );
  end

  /////////////////////
  // S1 registers    //
  /////////////////////

  logic                 s1_vld_q, s1_vld_d;
  logic [TokW-1:0]      s1_tok_q, s1_tok_d;      // tags: datapath, loaded on an issue
  logic                 s1_first_q, s1_first_d;
  logic                 s1_last_q, s1_last_d;
  logic                 s1_rlast_q, s1_rlast_d;
  logic [31:0]          s1_tile_q, s1_tile_d;
  logic [BeatW-1:0]     s1_beat_q, s1_beat_d;
  logic [Cols*SumW-1:0] s1_sum_q, s1_sum_d;

  always_comb begin
    s1_vld_d   = issue_i;
    s1_tok_d   = issue_i ? tok_i   : s1_tok_q;
    s1_first_d = issue_i ? first_i : s1_first_q;
    s1_last_d  = issue_i ? last_i  : s1_last_q;
    s1_rlast_d = issue_i ? rlast_i : s1_rlast_q;
    s1_tile_d  = issue_i ? tile_i  : s1_tile_q;
    s1_beat_d  = issue_i ? beat_i  : s1_beat_q;
    s1_sum_d   = issue_i ? col_sum : s1_sum_q;
  end

  //////////////////////////////////////
  // S1: read-modify-write of the bank //
  //////////////////////////////////////

  logic [RowW-1:0] bank_rdata;  // the bank entry of s1_tok_q (read in S0)
  logic [RowW-1:0] acc_old;     // after forwarding
  logic [RowW-1:0] acc_new;
  logic [RowW-1:0] sum_ext;     // s1_sum_q resized to AccW per column
  logic            bank_we;

  // Forwarding register: acc_new of the previous S1 operation.
  logic            wb_wr_q, wb_wr_d;    // it was written to the bank
  logic [TokW-1:0] wb_tok_q, wb_tok_d;
  logic [RowW-1:0] wb_q, wb_d;
  logic            fwd;

  assign fwd     = wb_wr_q & (wb_tok_q == s1_tok_q);
  assign acc_old = fwd ? wb_q : bank_rdata;
  assign bank_we = s1_vld_q & ~s1_last_q;

  for (genvar c = 0; c < Cols; c++) begin : gen_acc
    logic [SumW-1:0] sum_c;
    assign sum_c = s1_sum_q[SumW*c +: SumW];

    if (SumW <= AccW) begin : gen_sext
      assign sum_ext[AccW*c +: AccW] = AccW'($signed(sum_c));
    end else begin : gen_trunc
      // The tree is wider than the accumulator (Lanes close to KMax): a
      // legal beat's sum fits AccW, the dropped bits are sign copies.
      assign sum_ext[AccW*c +: AccW] = sum_c[AccW-1:0];
    end

    // First beat of a tile: the sum alone (the bank entry is stale).
    assign acc_new[AccW*c +: AccW] =
        (s1_first_q ? '0 : acc_old[AccW*c +: AccW]) + sum_ext[AccW*c +: AccW];
  end

  tri_ram_sdp #(
    .Width (RowW),
    .Depth (TMax)
  ) u_bank (
    .clk_i   (clk_i),
    .we_i    (bank_we),
    .waddr_i (s1_tok_q),
    .wdata_i (acc_new),
    .raddr_i (tok_i),
    .rdata_o (bank_rdata)
  );

  always_comb begin
    wb_wr_d  = bank_we;
    wb_tok_d = s1_vld_q ? s1_tok_q : wb_tok_q;
    wb_d     = s1_vld_q ? acc_new : wb_q;
  end

  assign res_valid_o = s1_vld_q & s1_last_q;
  assign res_data_o  = acc_new;
  assign res_last_o  = s1_rlast_q;
  assign s1_valid_o  = s1_vld_q;

  ///////////
  // Debug //
  ///////////

  logic             dbg_vld_q, dbg_vld_d;
  logic [31:0]      dbg_tile_q, dbg_tile_d;
  logic [BeatW-1:0] dbg_beat_q, dbg_beat_d;
  logic [TokW-1:0]  dbg_tok_q, dbg_tok_d;

  always_comb begin
    dbg_vld_d  = s1_vld_q;
    dbg_tile_d = s1_vld_q ? s1_tile_q : dbg_tile_q;
    dbg_beat_d = s1_vld_q ? s1_beat_q : dbg_beat_q;
    dbg_tok_d  = s1_vld_q ? s1_tok_q : dbg_tok_q;
  end

  assign dbg_valid_o = dbg_vld_q;
  assign dbg_tile_o  = dbg_tile_q;
  assign dbg_beat_o  = dbg_beat_q;
  assign dbg_token_o = dbg_tok_q;
  assign dbg_acc_o   = wb_q;

  ///////////////
  // Registers //
  ///////////////

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_vld_q  <= 1'b0;
      wb_wr_q   <= 1'b0;
      dbg_vld_q <= 1'b0;
    end else begin
      s1_vld_q  <= s1_vld_d;
      wb_wr_q   <= wb_wr_d;
      dbg_vld_q <= dbg_vld_d;
    end
  end

  // Datapath registers: no reset, only read when their valid says so.
  always_ff @(posedge clk_i) begin
    s1_tok_q   <= s1_tok_d;
    s1_first_q <= s1_first_d;
    s1_last_q  <= s1_last_d;
    s1_rlast_q <= s1_rlast_d;
    s1_tile_q  <= s1_tile_d;
    s1_beat_q  <= s1_beat_d;
    s1_sum_q   <= s1_sum_d;
    wb_tok_q   <= wb_tok_d;
    wb_q       <= wb_d;
    dbg_tile_q <= dbg_tile_d;
    dbg_beat_q <= dbg_beat_d;
    dbg_tok_q  <= dbg_tok_d;
  end

  ////////////////
  // Assertions //
  ////////////////

  if (Cols < 1 || Lanes < 1 || TMax < 1 || AccW < 1) begin : gen_param_check
    $error("tri_accel_acc: Cols, Lanes, TMax and AccW must be >= 1");
  end

`ifndef SYNTHESIS
  // No accumulator overflow (mirrors mac_array_acc: a tile of at most
  // ceil(KMax / Lanes) beats with at most KMax nonzero lanes cannot overflow;
  // checked on the update itself). One property over a flag per column, as
  // in mac_array_acc.
  logic [Cols-1:0] ovf;    // column c's update overflows
  logic [Cols-1:0] unfit;  // column c's beat sum does not fit AccW
  for (genvar c = 0; c < Cols; c++) begin : gen_acc_assert
    logic [AccW-1:0] old_c, sum_c;
    logic [AccW:0]   acc_wide;  // with one bit of headroom

    assign old_c    = s1_first_q ? '0 : acc_old[AccW*c +: AccW];
    assign sum_c    = sum_ext[AccW*c +: AccW];
    assign acc_wide = {old_c[AccW-1], old_c} + {sum_c[AccW-1], sum_c};
    assign ovf[c]   = acc_wide[AccW] != acc_wide[AccW-1];

    if (SumW > AccW) begin : gen_trunc_assert
      assign unfit[c] = !(gen_acc[c].sum_c[SumW-1:AccW-1] == '0 ||
                          gen_acc[c].sum_c[SumW-1:AccW-1] == '1);
    end else begin : gen_fits
      assign unfit[c] = 1'b0;
    end
  end

  `TRI_ASSERT_IMP(AccNoOverflow_A, s1_vld_q,
      ovf == '0,
      ("%m: accumulators of columns %b overflow", ovf))
  `TRI_ASSERT_KNOWN_IF(KnownAcc_A, s1_vld_q,
      acc_new,
      ("%m: an accumulator is unknown (read before written?)"))
  `TRI_ASSERT_IMP(SumFits_A, s1_vld_q,
      unfit == '0,
      ("%m: beat sums of columns %b do not fit AccW", unfit))
  // The bank index is a token row of the buffer.
  `TRI_ASSUME_IMP(TokRange_A, issue_i,
      {1'b0, tok_i} < (TokW + 1)'(TMax),
      ("%m: token %0d out of range", tok_i))
`endif

endmodule
