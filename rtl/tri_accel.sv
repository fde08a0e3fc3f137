// Copyright tritium contributors.
//
// tri_accel: the ternary (W1.58A8) accelerator around the add-only MAC
// array: a weight read port with a 2-bit or base-3 stored format, an
// on-chip activation buffer of TMax token rows, a token-indexed accumulator
// bank and a double-buffered result FIFO. Contract, layouts and timing:
// rtl/INTERFACE.md, "tri_accel". No multiplier or divider anywhere.
//
// A *run* (one command) computes `tiles` output tiles of Cols rows over
// `beats` words of K for `tokens` token rows. Each weight word fetched is
// applied to every token before the next word is used (weight reuse); an
// *issue* is one (word, token) pair through the array. Issue order:
//
//   for tile in 0..tiles: for beat in 0..beats: for token in 0..tokens
//
// Structure and pipeline (an issue in cycle I):
//
//   u_wfe  (tri_accel_wfe): w_* port -> 2-beat FIFO -> word assembly ->
//          decoder -> decoded word dec_q (held for `tokens` issues).
//   issue control (here): run counters (tile, beat, token), the activation
//          buffer address (a counter 0 .. tokens*beats-1, reset per tile:
//          the buffer is beat-major), result-room credits. Issues one
//          (word, token) per cycle whenever a word is decoded and, for a
//          tile's last beat, a result slot is free.
//   u_act  (tri_ram_sdp): the activation buffer, ActDepth words of Lanes
//          int8, written by the ld_* port, read synchronously: its read
//          address is the issue counter's next value, so in cycle I its
//          output is the word of issue I.
//   PEs    (tri_pe, Cols x Lanes, here) in cycle I on dec_q and the buffer
//          word; lane flags counted (adds, skips) and checked (invalid).
//   u_acc  (tri_accel_acc): column adder trees (I), registered sums and
//          bank read-modify-write (I+1) with forwarding, result push (I+1),
//          debug view (I+2).
//   u_res  (tri_fifo): ResDepth = 2*TMax results; an issue of a tile's last
//          beat reserves a slot (res_used_q), so a result never waits.
//   counters (tri_counter x 9).
//
// Every `*` and `/` in this file is elaboration-time arithmetic on
// parameters and genvars (widths, depths, bit offsets), never hardware.

module tri_accel #(
  parameter int unsigned Cols      = 4,     // output channels computed in parallel
  parameter int unsigned Lanes     = 8,     // int8 activations per issue
  parameter int unsigned KMax      = 8192,  // largest K of one tile
  parameter int unsigned TMax      = 4,     // token rows of the activation buffer
  parameter int unsigned BusBytes  = 8,     // weight port bytes per beat
  parameter int unsigned Format    = 0,     // stored weights: 0 = 2-bit, 1 = base-3
  parameter int unsigned WordBytes = 8,     // bytes of one stored word (Cols*Lanes weights)
  localparam int unsigned AccW     = $clog2(128 * KMax + 1) + 1,
  localparam int unsigned KBMax    = (KMax + Lanes - 1) / Lanes,  // words per tile at most
  localparam int unsigned ActDepth = TMax * KBMax,                // activation buffer words
  localparam int unsigned ResDepth = 2 * TMax                     // result FIFO entries
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,
  input  logic                     cnt_clear_i,

  // Command: one run.
  input  logic                     cmd_valid_i,
  output logic                     cmd_ready_o,
  input  logic [31:0]              cmd_tiles_i,   // >= 1
  input  logic [31:0]              cmd_beats_i,   // 1 .. KBMax (words per tile)
  input  logic [31:0]              cmd_tokens_i,  // 1 .. TMax

  // Activation buffer load (beat-major words, addresses 0, 1, ...).
  input  logic                     ld_valid_i,
  output logic                     ld_ready_o,
  input  logic [Lanes*8-1:0]       ld_data_i,     // lane l at [8*l +: 8]
  input  logic                     ld_last_i,

  // Weight read port: the run images, beat by beat.
  input  logic                     w_valid_i,
  output logic                     w_ready_o,
  input  logic [BusBytes*8-1:0]    w_data_i,      // byte b at [8*b +: 8]
  input  logic                     w_last_i,      // final beat of a run's image

  // Results: per tile, `tokens` results (token 0 first).
  output logic                     r_valid_o,
  input  logic                     r_ready_i,
  output logic [Cols*AccW-1:0]     r_data_o,      // column c at [AccW*c +: AccW]
  output logic                     r_last_o,      // the run's final result

  output logic                     busy_o,

  // Sticky error flags (until reset).
  output logic                     err_code_o,    // invalid weight in a used position
  output logic                     err_last_o,    // w_last_i on the wrong beat
  output logic                     err_load_o,    // tokens*beats != words loaded
  output logic                     err_cmd_o,     // command out of range (dropped)

  // Debug: each issue, two cycles after it.
  output logic                     dbg_valid_o,
  output logic [31:0]              dbg_tile_o,
  output logic [31:0]              dbg_beat_o,
  output logic [31:0]              dbg_token_o,
  output logic [Cols*AccW-1:0]     dbg_acc_o,     // the issue's updated accumulators

  // Statistics (64-bit, cleared by reset / cnt_clear_i).
  output logic [63:0]              cnt_cycles_o,
  output logic [63:0]              cnt_busy_o,
  output logic [63:0]              cnt_mem_stall_o,
  output logic [63:0]              cnt_res_stall_o,
  output logic [63:0]              cnt_dram_bytes_o,
  output logic [63:0]              cnt_act_reads_o,
  output logic [63:0]              cnt_act_writes_o,
  output logic [63:0]              cnt_adds_o,
  output logic [63:0]              cnt_skips_o
);

  ///////////////////////
  // Derived constants //
  ///////////////////////

  localparam int unsigned CodeW   = tri_pkg::CodeW;
  localparam int unsigned ActW    = tri_pkg::ActW;
  localparam int unsigned TermW   = tri_pkg::TermW;
  localparam int unsigned NumPe   = Cols * Lanes;
  localparam int unsigned Wpb     = (Format == 0) ? 4 : 5;           // weights per byte
  localparam int unsigned UsedB   = (NumPe + Wpb - 1) / Wpb;         // bytes holding a word
  localparam int unsigned RowW    = Cols * AccW;
  localparam int unsigned BeatW   = (KBMax > 1) ? $clog2(KBMax) : 1;  // beat index
  localparam int unsigned TokW    = (TMax > 1) ? $clog2(TMax) : 1;    // token index
  localparam int unsigned ActAW   = (ActDepth > 1) ? $clog2(ActDepth) : 1;
  localparam int unsigned LdCntW  = $clog2(ActDepth + 1);             // 0 .. ActDepth
  localparam int unsigned ResCntW = $clog2(ResDepth + 1);
  localparam int unsigned StatW   = 1 + $clog2(NumPe);                // lane popcount

  /////////////
  // Command //
  /////////////

  logic        cmd_ok;     // the command's sizes are in range
  logic        cmd_fire;   // handshake
  logic        start;      // a valid command starts a run
  logic        ld_open_q, ld_open_d;  // a load has started and not ended (ld_last_i)
  logic        run_q, run_d;          // a run is issuing
  logic        last_issue;            // this cycle issues the run's last (word, token)

  assign cmd_ok = (cmd_tiles_i != 32'd0) &&
                  (cmd_beats_i != 32'd0) && (cmd_beats_i <= 32'(KBMax)) &&
                  (cmd_tokens_i != 32'd0) && (cmd_tokens_i <= 32'(TMax));
  // Accepted while idle, or in the cycle of the previous run's last issue
  // (results may still drain); never in the middle of a load.
  assign cmd_ready_o = ~ld_open_q & (~run_q | last_issue);
  assign cmd_fire    = cmd_valid_i & cmd_ready_o;
  assign start       = cmd_fire & cmd_ok;

  // The run's sizes as last indices (range-checked above when used).
  logic [31:0]      cmd_last_tile;
  logic [BeatW-1:0] cmd_last_beat;
  logic [TokW-1:0]  cmd_last_tok;

  // Modulo 2^BeatW (2^TokW): beats <= KBMax <= 2^BeatW, so beats - 1 is
  // exact in BeatW bits (e.g. KBMax = 32, BeatW = 5: beats 32 -> 31).
  assign cmd_last_tile = cmd_tiles_i - 32'd1;
  assign cmd_last_beat = cmd_beats_i[BeatW-1:0] - BeatW'(1);
  assign cmd_last_tok  = cmd_tokens_i[TokW-1:0] - TokW'(1);

  //////////////////////
  // Weight front end //
  //////////////////////

  logic                   dec_valid;
  logic [NumPe*CodeW-1:0] dec_codes;
  logic                   consume;    // the decoded word's last token issues now
  logic                   fe_active;
  logic                   last_err;

  tri_accel_wfe #(
    .Cols      (Cols),
    .Lanes     (Lanes),
    .Format    (Format),
    .BusBytes  (BusBytes),
    .WordBytes (WordBytes),
    .BeatW     (BeatW)
  ) u_wfe (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .w_valid_i   (w_valid_i),
    .w_ready_o   (w_ready_o),
    .w_data_i    (w_data_i),
    .w_last_i    (w_last_i),
    .start_i     (start),
    .last_tile_i (cmd_last_tile),
    .last_beat_i (cmd_last_beat),
    .dec_valid_o (dec_valid),
    .dec_codes_o (dec_codes),
    .consume_i   (consume),
    .active_o    (fe_active),
    .last_err_o  (last_err)
  );

  ///////////////////
  // Issue control //
  ///////////////////

  logic [31:0]      last_tile_q, last_tile_d;  // the run's tiles - 1
  logic [BeatW-1:0] last_beat_q, last_beat_d;  // beats - 1
  logic [TokW-1:0]  last_tok_q, last_tok_d;    // tokens - 1
  logic [31:0]      tile_q, tile_d;            // counters of the next issue
  logic [BeatW-1:0] beat_q, beat_d;
  logic [TokW-1:0]  tok_q, tok_d;
  logic [ActAW-1:0] act_addr_q, act_addr_d;    // buffer word of the next issue
  logic [ResCntW-1:0] res_used_q, res_used_d;  // result slots held (reserved or full)

  logic beat_end;   // the next issue is the last beat of its tile (a result)
  logic tok_end;    // ... the word's last token
  logic tile_last;  // ... of the run's last tile
  logic res_ok;     // a result slot is free if the next issue needs one
  logic issue;      // one (word, token) enters the array this cycle
  logic r_fire;     // result handshake

  assign beat_end   = (beat_q == last_beat_q);
  assign tok_end    = (tok_q == last_tok_q);
  assign tile_last  = (tile_q == last_tile_q);
  // Credits from registers only (a slot freed by this cycle's r_ready_i is
  // usable next cycle): no combinational path from r_ready_i.
  assign res_ok     = ~beat_end | (res_used_q < ResCntW'(ResDepth));
  assign issue      = run_q & dec_valid & res_ok;
  assign consume    = issue & tok_end;
  assign last_issue = consume & beat_end & tile_last;
  assign r_fire     = r_valid_o & r_ready_i;

  always_comb begin
    run_d       = run_q;
    last_tile_d = last_tile_q;
    last_beat_d = last_beat_q;
    last_tok_d  = last_tok_q;
    tile_d      = tile_q;
    beat_d      = beat_q;
    tok_d       = tok_q;
    act_addr_d  = act_addr_q;
    if (issue) begin
      if (!tok_end) begin
        tok_d      = tok_q + TokW'(1);
        act_addr_d = act_addr_q + ActAW'(1);
      end else if (!beat_end) begin
        tok_d      = '0;
        beat_d     = beat_q + BeatW'(1);
        act_addr_d = act_addr_q + ActAW'(1);
      end else begin
        // Tile done: the buffer is read from word 0 again.
        tok_d      = '0;
        beat_d     = '0;
        act_addr_d = '0;
        tile_d     = tile_last ? 32'd0 : tile_q + 32'd1;
        if (tile_last) begin
          run_d = 1'b0;
        end
      end
    end
    if (start) begin
      // The counters are zero (idle, or just wrapped by the last issue).
      run_d       = 1'b1;
      last_tile_d = cmd_last_tile;
      last_beat_d = cmd_last_beat;
      last_tok_d  = cmd_last_tok;
    end
  end

  logic res_take;  // the issue reserves a result slot
  assign res_take   = issue & beat_end;
  assign res_used_d = res_used_q + ResCntW'(res_take) - ResCntW'(r_fire);

  ///////////////////////
  // Activation buffer //
  ///////////////////////

  logic              ld_fire;
  logic              ld_write;                  // the word fits and is written
  logic [LdCntW-1:0] ld_cnt_q, ld_cnt_d;        // words of the load in progress
  logic [LdCntW-1:0] ld_words_q, ld_words_d;    // words of the last completed load
  logic              ld_ovf;                    // a word past ActDepth (dropped)
  logic [Lanes*ActW-1:0] act_word;              // the word of this cycle's issue

  // Not while a run issues; a waiting command goes before a new load (the
  // two are never accepted in the same cycle).
  assign ld_ready_o = ~run_q & ~(cmd_valid_i & ~ld_open_q);
  assign ld_fire    = ld_valid_i & ld_ready_o;
  assign ld_write   = ld_fire & (ld_cnt_q < LdCntW'(ActDepth));
  assign ld_ovf     = ld_fire & ~ld_write;

  always_comb begin
    ld_cnt_d   = ld_cnt_q;
    ld_words_d = ld_words_q;
    ld_open_d  = ld_open_q;
    if (ld_fire) begin
      if (ld_last_i) begin
        ld_words_d = ld_write ? ld_cnt_q + LdCntW'(1) : ld_cnt_q;
        ld_cnt_d   = '0;
        ld_open_d  = 1'b0;
      end else begin
        ld_cnt_d   = ld_write ? ld_cnt_q + LdCntW'(1) : ld_cnt_q;
        ld_open_d  = 1'b1;
      end
    end
  end

  tri_ram_sdp #(
    .Width (Lanes * ActW),
    .Depth (ActDepth)
  ) u_act (
    .clk_i   (clk_i),
    .we_i    (ld_write),
    .waddr_i (ld_cnt_q[ActAW-1:0]),
    .wdata_i (ld_data_i),
    // The next issue's word: the output in cycle I is the word of issue I.
    .raddr_i (act_addr_d),
    .rdata_o (act_word)
  );

  /////////
  // PEs //
  /////////

  logic [NumPe*TermW-1:0] terms;      // column c, lane l at [TermW*(c*Lanes + l) +: TermW]
  logic [NumPe-1:0]       lane_add;   // per lane (index c*Lanes + l): weight +-1
  logic [NumPe-1:0]       lane_skip;  // weight 0
  logic [NumPe-1:0]       lane_inv;   // invalid code 3
  logic [StatW-1:0]       issue_adds, issue_skips;

  for (genvar c = 0; c < Cols; c++) begin : gen_col
    for (genvar l = 0; l < Lanes; l++) begin : gen_lane
      tri_pe u_pe (
        .code_i (dec_codes[CodeW*(c*Lanes + l) +: CodeW]),
        .act_i  (act_word[ActW*l +: ActW]),
        .term_o (terms[TermW*(c*Lanes + l) +: TermW]),
        .add_o  (lane_add[c*Lanes + l]),
        .skip_o (lane_skip[c*Lanes + l]),
        .inv_o  (lane_inv[c*Lanes + l])
      );
    end
  end

  tri_adder_tree #(.N(NumPe), .InW(1), .Signed(1'b0)) u_add_count (
    .terms_i (lane_add),
    .sum_o   (issue_adds)
  );
  tri_adder_tree #(.N(NumPe), .InW(1), .Signed(1'b0)) u_skip_count (
    .terms_i (lane_skip),
    .sum_o   (issue_skips)
  );

  ///////////////////////////////////////
  // Column sums, accumulators, results //
  ///////////////////////////////////////

  logic            res_valid, res_last, res_room, s1_valid;
  logic [ResCntW-1:0] res_count;  // results in the FIFO
  logic [RowW-1:0] res_data;
  logic [BeatW-1:0] dbg_beat;
  logic [TokW-1:0]  dbg_tok;

  tri_accel_acc #(
    .Cols  (Cols),
    .Lanes (Lanes),
    .TMax  (TMax),
    .AccW  (AccW),
    .BeatW (BeatW)
  ) u_acc (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .issue_i     (issue),
    .tok_i       (tok_q),
    .first_i     (beat_q == '0),
    .last_i      (beat_end),
    .rlast_i     (beat_end & tile_last & tok_end),
    .tile_i      (tile_q),
    .beat_i      (beat_q),
    .terms_i     (terms),
    .res_valid_o (res_valid),
    .res_data_o  (res_data),
    .res_last_o  (res_last),
    .s1_valid_o  (s1_valid),
    .dbg_valid_o (dbg_valid_o),
    .dbg_tile_o  (dbg_tile_o),
    .dbg_beat_o  (dbg_beat),
    .dbg_token_o (dbg_tok),
    .dbg_acc_o   (dbg_acc_o)
  );

  assign dbg_beat_o  = 32'(dbg_beat);
  assign dbg_token_o = 32'(dbg_tok);

  tri_fifo #(
    .Width (RowW + 1),
    .Depth (ResDepth)
  ) u_res (
    .clk_i    (clk_i),
    .rst_ni   (rst_ni),
    .wvalid_i (res_valid),
    .wready_o (res_room),
    .wdata_i  ({res_last, res_data}),
    .rvalid_o (r_valid_o),
    .rready_i (r_ready_i),
    .rdata_o  ({r_last_o, r_data_o}),
    .count_o  (res_count)
  );

  assign busy_o = run_q | fe_active | (res_used_q != '0);

  /////////////////
  // Error flags //
  /////////////////

  logic err_code_q, err_code_d;
  logic err_last_q, err_last_d;
  logic err_load_q, err_load_d;
  logic err_cmd_q, err_cmd_d;
  logic load_short, load_mismatch;

  // An issue reads a word past the last load, or a tile ends on a word
  // other than the last one loaded: tokens * beats != words loaded.
  assign load_short    = issue & ({1'b0, act_addr_q} >= (ActAW + 1)'(ld_words_q));
  assign load_mismatch = consume & beat_end &
                         ((LdCntW + 1)'(act_addr_q) + (LdCntW + 1)'(1) != (LdCntW + 1)'(ld_words_q));

  always_comb begin
    err_code_d = err_code_q | (issue & (|lane_inv));
    err_last_d = err_last_q | last_err;
    err_load_d = err_load_q | load_short | load_mismatch | ld_ovf;
    err_cmd_d  = err_cmd_q | (cmd_fire & ~cmd_ok);
  end

  assign err_code_o = err_code_q;
  assign err_last_o = err_last_q;
  assign err_load_o = err_load_q;
  assign err_cmd_o  = err_cmd_q;

  //////////////
  // Counters //
  //////////////

  // While a run issues, every cycle is exactly one of: an issue (busy), a
  // wait for result room (res_stall, whether or not a word is ready), a
  // wait for weights (mem_stall).
  logic mem_stall;  // running, the next issue has result room, no word decoded
  logic res_stall;  // running, the next issue needs a result slot and none is free
  assign mem_stall = run_q & ~dec_valid & res_ok;
  assign res_stall = run_q & ~res_ok;

  tri_counter u_cnt_cycles (
    .clk_i (clk_i), .rst_ni (rst_ni), .clear_i (cnt_clear_i),
    .inc_i (32'd1), .count_o (cnt_cycles_o)
  );
  // Cycles with an issue (one word x one token through the array).
  tri_counter u_cnt_busy (
    .clk_i (clk_i), .rst_ni (rst_ni), .clear_i (cnt_clear_i),
    .inc_i (32'(issue)), .count_o (cnt_busy_o)
  );
  tri_counter u_cnt_mem_stall (
    .clk_i (clk_i), .rst_ni (rst_ni), .clear_i (cnt_clear_i),
    .inc_i (32'(mem_stall)), .count_o (cnt_mem_stall_o)
  );
  tri_counter u_cnt_res_stall (
    .clk_i (clk_i), .rst_ni (rst_ni), .clear_i (cnt_clear_i),
    .inc_i (32'(res_stall)), .count_o (cnt_res_stall_o)
  );
  tri_counter u_cnt_dram_bytes (
    .clk_i (clk_i), .rst_ni (rst_ni), .clear_i (cnt_clear_i),
    .inc_i ((w_valid_i & w_ready_o) ? 32'(BusBytes) : 32'd0), .count_o (cnt_dram_bytes_o)
  );
  tri_counter u_cnt_act_reads (
    .clk_i (clk_i), .rst_ni (rst_ni), .clear_i (cnt_clear_i),
    .inc_i (32'(issue)), .count_o (cnt_act_reads_o)
  );
  tri_counter u_cnt_act_writes (
    .clk_i (clk_i), .rst_ni (rst_ni), .clear_i (cnt_clear_i),
    .inc_i (32'(ld_write)), .count_o (cnt_act_writes_o)
  );
  tri_counter u_cnt_adds (
    .clk_i (clk_i), .rst_ni (rst_ni), .clear_i (cnt_clear_i),
    .inc_i (issue ? 32'(issue_adds) : 32'd0), .count_o (cnt_adds_o)
  );
  tri_counter u_cnt_skips (
    .clk_i (clk_i), .rst_ni (rst_ni), .clear_i (cnt_clear_i),
    .inc_i (issue ? 32'(issue_skips) : 32'd0), .count_o (cnt_skips_o)
  );

  ///////////////
  // Registers //
  ///////////////

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      run_q       <= 1'b0;
      last_tile_q <= '0;
      last_beat_q <= '0;
      last_tok_q  <= '0;
      tile_q      <= '0;
      beat_q      <= '0;
      tok_q       <= '0;
      act_addr_q  <= '0;
      res_used_q  <= '0;
      ld_open_q   <= 1'b0;
      ld_cnt_q    <= '0;
      ld_words_q  <= '0;
      err_code_q  <= 1'b0;
      err_last_q  <= 1'b0;
      err_load_q  <= 1'b0;
      err_cmd_q   <= 1'b0;
    end else begin
      run_q       <= run_d;
      last_tile_q <= last_tile_d;
      last_beat_q <= last_beat_d;
      last_tok_q  <= last_tok_d;
      tile_q      <= tile_d;
      beat_q      <= beat_d;
      tok_q       <= tok_d;
      act_addr_q  <= act_addr_d;
      res_used_q  <= res_used_d;
      ld_open_q   <= ld_open_d;
      ld_cnt_q    <= ld_cnt_d;
      ld_words_q  <= ld_words_d;
      err_code_q  <= err_code_d;
      err_last_q  <= err_last_d;
      err_load_q  <= err_load_d;
      err_cmd_q   <= err_cmd_d;
    end
  end

  ////////////////
  // Assertions //
  ////////////////

  // Elaboration-time parameter checks.
  if (Cols < 1 || Lanes < 1 || KMax < 1 || TMax < 1 || BusBytes < 1) begin : gen_param_check
    $error("tri_accel: Cols, Lanes, KMax, TMax and BusBytes must be >= 1");
  end
  if (KMax > (1 << 23)) begin : gen_kmax_check
    $error("tri_accel: KMax must be <= 2^23 (128 * KMax must fit in 31 bits)");
  end
  if (Format > 1) begin : gen_format_check
    $error("tri_accel: Format must be 0 (2-bit) or 1 (base-3)");
  end
  if (WordBytes < UsedB) begin : gen_word_check
    $error("tri_accel: WordBytes must be >= ceil(Cols*Lanes / weights per byte)");
  end
  if (BusBytes % WordBytes != 0 && WordBytes % BusBytes != 0) begin : gen_ratio_check
    $error("tri_accel: one of WordBytes and BusBytes must divide the other");
  end

`ifndef SYNTHESIS
  logic [3:0] errs_q;
  assign errs_q = {err_code_q, err_last_q, err_load_q, err_cmd_q};

  // ---- Producer rules (the host's side, checked) ----
  // Handshake rules are asserted. Faults the RTL reports on a sticky flag
  // (a command out of range: err_cmd_o; a load that does not match the run:
  // err_load_o; w_last_i misplaced: err_last_o; an invalid stored weight:
  // err_code_o) are deliberately NOT asserted: the flag is the check, so
  // that a simulation with assertions shows the same behaviour (the run
  // completes, the flag is set) as the hardware.
  // A valid, once high, stays high with stable payload until accepted.
  `TRI_ASSUME_NEXT(CmdValidHold_A, cmd_valid_i && !cmd_ready_o,
      cmd_valid_i && $stable({cmd_tiles_i, cmd_beats_i, cmd_tokens_i}),
      ("%m: cmd_valid_i dropped or the command changed before it was accepted"))
  `TRI_ASSUME_NEXT(LdValidHold_A, ld_valid_i && !ld_ready_o,
      ld_valid_i && $stable({ld_data_i, ld_last_i}),
      ("%m: ld_valid_i dropped or ld_data_i/ld_last_i changed before acceptance"))
  `TRI_ASSUME_NEXT(WValidHold_A, w_valid_i && !w_ready_o,
      w_valid_i && $stable({w_data_i, w_last_i}),
      ("%m: w_valid_i dropped or w_data_i/w_last_i changed before acceptance"))
  `TRI_ASSERT_KNOWN(KnownCtrlIn_A, {cmd_valid_i, ld_valid_i, w_valid_i, r_ready_i, cnt_clear_i},
      ("%m: unknown control input"))

  // ---- Accelerator rules ----
  // A result, once valid, stays valid and stable until taken.
  `TRI_ASSERT_NEXT(RValidHold_A, r_valid_o && !r_ready_i,
      r_valid_o && $stable({r_data_o, r_last_o}),
      ("%m: r_valid_o dropped or r_data_o changed before r_ready_i"))
  // Loads and commands exclude each other, and no load while a run issues.
  `TRI_ASSERT(CmdLoadExclusive_A, !(cmd_fire && ld_fire) && !(ld_fire && run_q),
      ("%m: load accepted together with a command or during a run"))
  // The result credits never exceed the FIFO, and a pushed result always fits.
  `TRI_ASSERT(ResCredit_A, res_used_q <= ResCntW'(ResDepth),
      ("%m: %0d result slots held, only %0d exist", res_used_q, ResDepth))
  // Every result in the FIFO holds a slot.
  `TRI_ASSERT(ResCount_A, res_count <= res_used_q,
      ("%m: %0d results in the FIFO but %0d slots held", res_count, res_used_q))
  `TRI_ASSERT_IMP(ResRoom_A, res_valid,
      res_room,
      ("%m: result pushed into a full result FIFO"))
  // The run counters stay inside the run; the buffer address inside the buffer.
  `TRI_ASSERT_IMP(RunCounters_A, run_q,
      tile_q <= last_tile_q && beat_q <= last_beat_q && tok_q <= last_tok_q,
      ("%m: run counters left the run"))
  `TRI_ASSERT_IMP(IdleCounters_A, !run_q,
      tile_q == '0 && beat_q == '0 && tok_q == '0 && act_addr_q == '0,
      ("%m: run counters not zero between runs"))
  `TRI_ASSERT_IMP(ActAddrRange_A, issue,
      {1'b0, act_addr_q} < (ActAW + 1)'(ActDepth),
      ("%m: activation buffer address %0d out of range", act_addr_q))
  // The front end is never behind a run that has started: a run is fetched
  // while issuing, and fetching ends no later than issuing.
  `TRI_ASSERT_IMP(FetchWithinRun_A, fe_active,
      run_q,
      ("%m: front end fetching outside a run"))
  // S1 only holds issues of a run, or its last (reserved) result.
  `TRI_ASSERT_IMP(S1Reserved_A, s1_valid && !run_q,
      res_used_q != '0,
      ("%m: an issue in flight without a run or a reserved result"))
  // Running cycles are partitioned by the three activity counters.
  `TRI_ASSERT(StallPartition_A, $onehot0({issue, mem_stall, res_stall}) && (run_q == (issue | mem_stall | res_stall)),
      ("%m: issue / mem_stall / res_stall do not partition the running cycles"))
  // The error flags are sticky until reset.
  `TRI_ASSERT(ErrSticky_A, ($past(errs_q) & ~errs_q) == '0,
      ("%m: an error flag fell without a reset"))
  `TRI_ASSERT_KNOWN(KnownCtrlOut_A, {cmd_ready_o, ld_ready_o, w_ready_o, r_valid_o, busy_o, dbg_valid_o, err_code_o, err_last_o, err_load_o, err_cmd_o},
      ("%m: unknown control output"))
  `TRI_ASSERT_KNOWN_IF(KnownResult_A, r_valid_o,
      {r_data_o, r_last_o},
      ("%m: r_data_o has unknown bits while r_valid_o"))

  // ---- Cover points (`make coverage` requires every one to be hit) ----
  // Backpressure on the command and load inputs, on the results; memory
  // stalls (a word wanted, none decoded) and result-room stalls.
  `TRI_COVER(CmdBackpressure_C, cmd_valid_i && !cmd_ready_o)
  `TRI_COVER(LdBackpressure_C, ld_valid_i && !ld_ready_o)
  `TRI_COVER(RBackpressure_C, r_valid_o && !r_ready_i)
  `TRI_COVER(MemStall_C, mem_stall)
  `TRI_COVER(ResStall_C, res_stall)
  // Runs: back to back (a command in the previous run's last issue cycle),
  // several tiles, one token row (the bank forwarding path) and all TMax.
  `TRI_COVER(BackToBackRun_C, start && run_q)
  `TRI_COVER(MultiTileRun_C, issue && tile_q != '0)
  `TRI_COVER(OneTokenRun_C, issue && last_tok_q == '0)
  `TRI_COVER(AllTokenRows_C, issue && {1'b0, tok_q} == (TokW + 1)'(TMax - 1))
  // Tile boundaries: a one-word tile, the last word of a longer tile.
  `TRI_COVER(SingleBeatTile_C, issue && beat_end && beat_q == '0)
  `TRI_COVER(LastOfSeveralBeats_C, issue && beat_end && beat_q != '0)
  // The error flags' events: a command out of range, a load too short for
  // the run / not matching it / overflowing the buffer, an invalid weight.
  `TRI_COVER(BadCmd_C, cmd_fire && !cmd_ok)
  `TRI_COVER(LoadShort_C, load_short)
  `TRI_COVER(LoadMismatch_C, load_mismatch && !load_short)
  `TRI_COVER(LoadOverflow_C, ld_ovf)
  `TRI_COVER(InvalidWeight_C, issue && |lane_inv)
  // Per lane, on issues (the decoded word and the buffer word are wider
  // than the 256 bits Verilator's toggle coverage follows in the KV260
  // configurations): each valid weight code in each column, and the int8
  // activation extremes -128 and 127.
  for (genvar c = 0; c < Cols; c++) begin : gen_cov_col
    for (genvar l = 0; l < Lanes; l++) begin : gen_cov_lane
      for (genvar k = 0; k < 3; k++) begin : gen_code
        `TRI_COVER(LaneCode_C, issue && dec_codes[CodeW*(c*Lanes + l) +: CodeW] == CodeW'(k))
      end
    end
  end
  for (genvar l = 0; l < Lanes; l++) begin : gen_cov_act
    `TRI_COVER(ActMin_C, issue && act_word[ActW*l +: ActW] == 8'h80)
    `TRI_COVER(ActMax_C, issue && act_word[ActW*l +: ActW] == 8'h7f)
  end
  // The last word of a tile with K not a multiple of Lanes, as the host
  // pads it: its top lane is padding (weight 0 in every column, activation 0).
  logic top_lane_pad;
  always_comb begin
    top_lane_pad = (act_word[ActW*(Lanes-1) +: ActW] == '0);
    for (int unsigned c = 0; c < Cols; c++) begin
      if (dec_codes[CodeW*(c*Lanes + Lanes - 1) +: CodeW] != tri_pkg::CodeZero) begin
        top_lane_pad = 1'b0;
      end
    end
  end
  `TRI_COVER(RaggedLastBeat_C, issue && beat_end && top_lane_pad)
`endif

endmodule
