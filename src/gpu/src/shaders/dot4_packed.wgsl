// dot4: four int8 x int8 products of two packed words, added (the
// hardware dot product where the device has one: SPIR-V OpSDot with
// VK_KHR_shader_integer_dot_product, DXIL dot4add, Metal; else naga's
// polyfill).
fn dot4(c: u32, a: u32) -> i32 {
    return dot4I8Packed(c, a);
}
