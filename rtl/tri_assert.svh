// Copyright tritium contributors.
//
// tri_assert.svh: the assertion macros of tritium's RTL (the pattern of
// lowRISC's prim_assert.sv): one named property, written once, expanded for
// the simulator and for the formal tools.
//
// * Simulation (Verilator, any 4-state simulator): concurrent assertions
//   clocked by clk_i and disabled while rst_ni is low, each with its own
//   failure message. Msg is a parenthesized $error argument list, e.g.
//   ("%m: count %0d", count_q).
// * Formal (`FORMAL` defined, as `read_verilog -formal` of Yosys does):
//   immediate assertions in a clocked block, which the open-source Yosys
//   front end reads (it reads no `assert property` with a clocking event,
//   `disable iff`, `|->` or `|=>`). A property is checked in every cycle in
//   which rst_ni is high; a next-cycle property (`_NEXT`) also needs rst_ni
//   high in the cycle before. The formal harnesses (rtl/formal/) start in
//   reset.
//
// Kinds:
//   TRI_ASSERT(Name, Prop, Msg)             Prop holds in every cycle.
//   TRI_ASSERT_IMP(Name, Ante, Cons, Msg)   Ante |-> Cons (same cycle).
//   TRI_ASSERT_NEXT(Name, Ante, Cons, Msg)  Ante |=> Cons (the next cycle).
//   TRI_ASSUME*(...)                        The same three for rules on a
//       module's inputs (its producer's side of a handshake). Simulation
//       checks them like assertions; formal assumes them of the module that
//       is the top of a proof and asserts them of every module below it
//       (rtl/formal/run.py turns the assumptions of non-top modules into
//       assertions), so a parent is proven to keep its children's rules.
//   TRI_ASSERT_FINAL(Name, Prop, Msg)       A deferred immediate assertion,
//       written inside an always_comb block.
//   TRI_ASSERT_KNOWN(Name, Sig, Msg)        !$isunknown(Sig), and
//   TRI_ASSERT_KNOWN_IF(Name, Ante, Sig, Msg) Ante |-> !$isunknown(Sig):
//       X checks. Only a 4-state simulator can fail them; Verilator and
//       Yosys are 2-state (no X), so they expand to nothing under FORMAL.
//   `TRI_KNOWN(Sig)                         !$isunknown(Sig) in simulation,
//       1 under FORMAL (for guards of TRI_ASSERT_FINAL).
//   TRI_COVER(Name, Prop)                   A cover point: an event the tests
//       must reach (Verilator --coverage counts it; formal cover mode can
//       find a trace to it).

`ifndef TRI_ASSERT_SVH
`define TRI_ASSERT_SVH

`ifdef FORMAL

`define TRI_ASSERT(Name, Prop, Msg) \
  always @(posedge clk_i) if (rst_ni) Name: assert (Prop);
`define TRI_ASSERT_IMP(Name, Ante, Cons, Msg) \
  always @(posedge clk_i) if (rst_ni) Name: assert (!(Ante) || (Cons));
`define TRI_ASSERT_NEXT(Name, Ante, Cons, Msg) \
  always @(posedge clk_i) if (rst_ni && $past(rst_ni)) Name: assert (!$past(Ante) || (Cons));
`define TRI_ASSUME(Name, Prop, Msg) \
  always @(posedge clk_i) if (rst_ni) Name: assume (Prop);
`define TRI_ASSUME_IMP(Name, Ante, Cons, Msg) \
  always @(posedge clk_i) if (rst_ni) Name: assume (!(Ante) || (Cons));
`define TRI_ASSUME_NEXT(Name, Ante, Cons, Msg) \
  always @(posedge clk_i) if (rst_ni && $past(rst_ni)) Name: assume (!$past(Ante) || (Cons));
`define TRI_ASSERT_FINAL(Name, Prop, Msg) \
  Name: assert (Prop);
`define TRI_ASSERT_KNOWN(Name, Sig, Msg)
`define TRI_ASSERT_KNOWN_IF(Name, Ante, Sig, Msg)
`define TRI_KNOWN(Sig) 1'b1
// Unlabelled: cover points sit in generate loops (per lane, per column),
// where Yosys would create one cell name per loop and reject the second.
// The proofs (prove/bmc modes) do not use them.
`define TRI_COVER(Name, Prop) \
  always @(posedge clk_i) if (rst_ni) cover (Prop);

`else

`define TRI_ASSERT(Name, Prop, Msg) \
  Name: assert property (@(posedge clk_i) disable iff (!rst_ni) (Prop)) else $error Msg;
`define TRI_ASSERT_IMP(Name, Ante, Cons, Msg) \
  Name: assert property (@(posedge clk_i) disable iff (!rst_ni) (Ante) |-> (Cons)) \
    else $error Msg;
`define TRI_ASSERT_NEXT(Name, Ante, Cons, Msg) \
  Name: assert property (@(posedge clk_i) disable iff (!rst_ni) (Ante) |=> (Cons)) \
    else $error Msg;
`define TRI_ASSUME(Name, Prop, Msg) `TRI_ASSERT(Name, Prop, Msg)
`define TRI_ASSUME_IMP(Name, Ante, Cons, Msg) `TRI_ASSERT_IMP(Name, Ante, Cons, Msg)
`define TRI_ASSUME_NEXT(Name, Ante, Cons, Msg) `TRI_ASSERT_NEXT(Name, Ante, Cons, Msg)
`define TRI_ASSERT_FINAL(Name, Prop, Msg) \
  Name: assert final (Prop) else $error Msg;
`define TRI_ASSERT_KNOWN(Name, Sig, Msg) \
  Name: assert property (@(posedge clk_i) disable iff (!rst_ni) !$isunknown(Sig)) \
    else $error Msg;
`define TRI_ASSERT_KNOWN_IF(Name, Ante, Sig, Msg) \
  Name: assert property (@(posedge clk_i) disable iff (!rst_ni) (Ante) |-> !$isunknown(Sig)) \
    else $error Msg;
`define TRI_KNOWN(Sig) !$isunknown(Sig)
`define TRI_COVER(Name, Prop) \
  Name: cover property (@(posedge clk_i) disable iff (!rst_ni) (Prop));

`endif

`endif  // TRI_ASSERT_SVH
