rtl/tri_pkg.sv
rtl/tri_pe.sv
rtl/tri_adder_tree.sv
rtl/tri_mac_array.sv
