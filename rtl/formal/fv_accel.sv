// Copyright tritium contributors.
//
// fv_accel: tri_accel with free inputs, constrained only by its own producer
// rules (the TRI_ASSUME properties of tri_accel: command, load and weight
// valid and data held until accepted). Checks every named assertion of the
// accelerator and of every part below it (the parts' input rules become
// assertions there: the accelerator must keep them), and that its result
// stream keeps its protocol (RValidHold_A). Commands out of range, loads that
// do not match, misplaced w_last_i and invalid weights are legal inputs: the
// RTL flags them, and the properties must hold anyway. Also: the results
// handed out are exactly those the started runs owe (ResultsOwed_A,
// ResultsAllWhenIdle_A).

module fv_accel #(
  parameter int unsigned Cols      = 2,
  parameter int unsigned Lanes     = 3,
  parameter int unsigned KMax      = 6,
  parameter int unsigned TMax      = 2,
  parameter int unsigned BusBytes  = 2,
  parameter int unsigned Format    = 0,
  parameter int unsigned WordBytes = 2,
  localparam int unsigned AccW     = $clog2(128 * KMax + 1) + 1
) (
  input logic                  clk_i,
  input logic                  rst_ni,
  input logic                  cnt_clear_i,
  input logic                  cmd_valid_i,
  input logic [31:0]           cmd_tiles_i,
  input logic [31:0]           cmd_beats_i,
  input logic [31:0]           cmd_tokens_i,
  input logic                  ld_valid_i,
  input logic [Lanes*8-1:0]    ld_data_i,
  input logic                  ld_last_i,
  input logic                  w_valid_i,
  input logic [BusBytes*8-1:0] w_data_i,
  input logic                  w_last_i,
  input logic                  r_ready_i
);
  logic cmd_ready, ld_ready, w_ready, r_valid, r_last, busy;
  logic err_code, err_last, err_load, err_cmd, dbg_valid;
  logic [Cols*AccW-1:0] r_data, dbg_acc;
  logic [31:0] dbg_tile, dbg_beat, dbg_token;
  logic [63:0] cnt_cycles, cnt_busy, cnt_mem_stall, cnt_res_stall, cnt_dram_bytes;
  logic [63:0] cnt_act_reads, cnt_act_writes, cnt_adds, cnt_skips;

  tri_accel #(
    .Cols      (Cols),
    .Lanes     (Lanes),
    .KMax      (KMax),
    .TMax      (TMax),
    .BusBytes  (BusBytes),
    .Format    (Format),
    .WordBytes (WordBytes)
  ) dut (
    .clk_i            (clk_i),
    .rst_ni           (rst_ni),
    .cnt_clear_i      (cnt_clear_i),
    .cmd_valid_i      (cmd_valid_i),
    .cmd_ready_o      (cmd_ready),
    .cmd_tiles_i      (cmd_tiles_i),
    .cmd_beats_i      (cmd_beats_i),
    .cmd_tokens_i     (cmd_tokens_i),
    .ld_valid_i       (ld_valid_i),
    .ld_ready_o       (ld_ready),
    .ld_data_i        (ld_data_i),
    .ld_last_i        (ld_last_i),
    .w_valid_i        (w_valid_i),
    .w_ready_o        (w_ready),
    .w_data_i         (w_data_i),
    .w_last_i         (w_last_i),
    .r_valid_o        (r_valid),
    .r_ready_i        (r_ready_i),
    .r_data_o         (r_data),
    .r_last_o         (r_last),
    .busy_o           (busy),
    .err_code_o       (err_code),
    .err_last_o       (err_last),
    .err_load_o       (err_load),
    .err_cmd_o        (err_cmd),
    .dbg_valid_o      (dbg_valid),
    .dbg_tile_o       (dbg_tile),
    .dbg_beat_o       (dbg_beat),
    .dbg_token_o      (dbg_token),
    .dbg_acc_o        (dbg_acc),
    .cnt_cycles_o     (cnt_cycles),
    .cnt_busy_o       (cnt_busy),
    .cnt_mem_stall_o  (cnt_mem_stall),
    .cnt_res_stall_o  (cnt_res_stall),
    .cnt_dram_bytes_o (cnt_dram_bytes),
    .cnt_act_reads_o  (cnt_act_reads),
    .cnt_act_writes_o (cnt_act_writes),
    .cnt_adds_o       (cnt_adds),
    .cnt_skips_o      (cnt_skips)
  );

  initial assume (!rst_ni);

  // Results: none lost, none made up. A command in range (rtl/INTERFACE.md:
  // tiles >= 1, beats 1..KBMax, tokens 1..TMax) starts a run owing
  // tiles * tokens results, the last with r_last_o; one out of range is
  // dropped (err_cmd_o) and owes none. Runs may overlap (a command is taken
  // in the cycle of the previous run's last issue) and their results drain
  // in order through one FIFO, so the totals are compared: never more
  // results or r_last_o than owed, and all of them once the accelerator is
  // idle. Under RESULTS only (proof accel_results), where commands are also
  // kept to at most 3 tiles: runs that can end within the depth, and
  // narrow totals for the solver.
`ifdef RESULTS
  localparam int unsigned KBMax = (KMax + Lanes - 1) / Lanes;
  logic cmd_fire, cmd_ok, r_fire;
  assign cmd_fire = cmd_valid_i && cmd_ready;
  assign cmd_ok   = cmd_tiles_i != 0 && cmd_beats_i != 0 && cmd_beats_i <= KBMax &&
                    cmd_tokens_i != 0 && cmd_tokens_i <= TMax;
  assign r_fire   = r_valid && r_ready_i;

  logic [7:0] owed;  // tiles * tokens of this command, by repeated addition
  always @* begin
    owed = '0;
    for (int t = 1; t <= TMax; t++) begin
      if (t <= cmd_tokens_i) owed = owed + 8'(cmd_tiles_i);
    end
    FewTiles_M: assume (!cmd_valid_i || cmd_tiles_i <= 3);
  end

  logic [7:0] owed_q, got_q;    // results owed by started runs / handed out
  logic [7:0] runs_q, lasts_q;  // runs started / r_last_o results handed out
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      owed_q  <= '0;
      got_q   <= '0;
      runs_q  <= '0;
      lasts_q <= '0;
    end else begin
      owed_q  <= owed_q + ((cmd_fire && cmd_ok) ? owed : '0);
      runs_q  <= runs_q + 8'(cmd_fire && cmd_ok);
      got_q   <= got_q + 8'(r_fire);
      lasts_q <= lasts_q + 8'(r_fire && r_last);
    end
  end

  always @(posedge clk_i) begin
    if (rst_ni) begin
      ResultsOwed_A: assert (got_q <= owed_q && lasts_q <= runs_q);
      ResultsAllWhenIdle_A: assert (busy || (got_q == owed_q && lasts_q == runs_q));
    end
  end
`endif
endmodule
