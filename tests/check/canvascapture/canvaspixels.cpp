/* Unit tests for canvascapturesrc's pixel code (ext/cairo/canvaspixels.h):
 * the optimised scan and unpremultiply against their plain scalar
 * references on every (alpha, colour) pair, random images, odd widths and
 * padded strides; the copy-on-write test; frame memory from a pool; and,
 * through the element, the frames made while downstream keeps them. */

#include <gst/check/gstcheck.h>
#include <gst/video/video.h>

#include <cairo.h>

#include <cstring>
#include <vector>

#include "canvaspixels.h"

namespace cp = canvas_pixels;

namespace
{

guint32 pixel_at(const std::vector<guint8> &img, gint stride, gint x, gint y)
{
  guint32 p;
  memcpy(&p, img.data() + (gsize)y * stride + 4 * x, 4);
  return p;
}

void set_pixel(std::vector<guint8> &img, gint stride, gint x, gint y, guint32 p)
{
  memcpy(img.data() + (gsize)y * stride + 4 * x, &p, 4);
}

/* A random pixel; alpha drawn from @alphas when given (edge cases), colour
 * premultiplied (c <= a) unless @any_colour. */
guint32 random_pixel(GRand *rand, const std::vector<guint32> &alphas, bool any_colour)
{
  guint32 a = alphas.empty() ? g_rand_int_range(rand, 0, 256)
                             : alphas[g_rand_int_range(rand, 0, alphas.size())];
  guint32 max = any_colour ? 255 : a;
  guint32 p = a << 24;
  for (int shift = 0; shift < 24; shift += 8)
    p |= (guint32)g_rand_int_range(rand, 0, max + 1) << shift;
  return p;
}

/* An image of random pixels; padding bytes past each row's pixels random too
 * (the functions must neither read them as pixels nor write them). */
std::vector<guint8> random_image(GRand *rand, gint stride, gint height,
                                 const std::vector<guint32> &alphas, bool any_colour)
{
  std::vector<guint8> img((gsize)stride * height);
  for (auto &b : img)
    b = (guint8)g_rand_int_range(rand, 0, 256);
  for (gint y = 0; y < height; y++)
    for (gint x = 0; x < stride / 4; x++)
      set_pixel(img, stride, x, y, random_pixel(rand, alphas, any_colour));
  return img;
}

/* @frame (taken) holds @img in straight alpha, as the scalar reference gives. */
void check_straight_frame(GstBuffer *frame, const std::vector<guint8> &img, gint stride, gint width,
                          gint height)
{
  fail_unless(frame != nullptr);
  std::vector<guint8> expected(img.size());
  cp::unpremultiply_rows_reference(img.data(), expected.data(), stride, width, 0, height);
  fail_unless(gst_buffer_memcmp(frame, 0, expected.data(), expected.size()) == 0,
              "%dx%d (stride %d): the frame differs from the reference", width, height, stride);
  gst_buffer_unref(frame);
}

/* The reference formula itself, by hand. */
GST_START_TEST(test_unpremultiply_reference_values)
{
  /* alpha 0 and 255: the pixel as it is (even a non-zero colour at alpha 0). */
  fail_unless_equals_int(cp::unpremultiply_pixel_reference(0x00000000u), 0x00000000u);
  fail_unless_equals_int(cp::unpremultiply_pixel_reference(0x00123456u), 0x00123456u);
  fail_unless_equals_int(cp::unpremultiply_pixel_reference(0xff123456u), 0xff123456u);
  /* (c * 255 + a / 2) / a, at most 255. */
  fail_unless_equals_int(cp::unpremultiply_pixel_reference(0x80404040u), 0x80808080u);
  fail_unless_equals_int(cp::unpremultiply_pixel_reference(0x02010001u), 0x02800080u);
  fail_unless_equals_int(cp::unpremultiply_pixel_reference(0xfefefe00u), 0xfeffff00u);
  fail_unless_equals_int(cp::unpremultiply_pixel_reference(0x01ff0100u), 0x01ffff00u);
  /* a = 3, c = 1: 255 / 3 = 85 exactly; c = 2: 170. a = 7, c = 3: 109.29 -> 109. */
  fail_unless_equals_int(cp::unpremultiply_pixel_reference(0x03010200u), 0x0355aa00u);
  fail_unless_equals_int(cp::unpremultiply_pixel_reference(0x07000003u), 0x0700006du);
}
GST_END_TEST;

/* Every (alpha, colour) pair in every channel, whole rows and the scalar
 * tail (width 65536 + 5 pixels), premultiplied or not. */
GST_START_TEST(test_unpremultiply_every_pair)
{
  const gint width = 256 * 256 + 5;
  const gint stride = width * 4;
  std::vector<guint8> src(stride), fast(stride), ref(stride);
  for (guint32 i = 0; i < (guint32)width; i++) {
    guint32 a = (i >> 8) & 0xff, c = i & 0xff;
    guint32 p = (a << 24) | (c << 16) | ((255 - c) << 8) | ((c * 7 + a) & 0xff);
    memcpy(src.data() + 4 * i, &p, 4);
  }
  cp::unpremultiply_rows(src.data(), fast.data(), stride, width, 0, 1);
  cp::unpremultiply_rows_reference(src.data(), ref.data(), stride, width, 0, 1);
  for (gint i = 0; i < width; i++) {
    guint32 f = pixel_at(fast, stride, i, 0), r = pixel_at(ref, stride, i, 0);
    if (f != r)
      fail("pixel %d (0x%08x): optimised 0x%08x, reference 0x%08x", i, pixel_at(src, stride, i, 0),
           f, r);
  }
}
GST_END_TEST;

/* Random images: widths 1..40 (odd ones, shorter than a vector), padded
 * strides, row ranges, in place; the padding is left alone. */
GST_START_TEST(test_unpremultiply_random_images)
{
  GRand *rand = g_rand_new_with_seed(20261130);
  const std::vector<std::vector<guint32>> alpha_sets = {{}, {0, 255}, {0, 1, 254, 255}, {128}};
  for (gint width = 1; width <= 40; width++) {
    for (gint pad : {0, 4, 12}) {
      const gint stride = width * 4 + pad, height = 7;
      const auto &alphas = alpha_sets[(width + pad) % alpha_sets.size()];
      std::vector<guint8> src = random_image(rand, stride, height, alphas, width % 3 == 0);
      std::vector<guint8> fast = random_image(rand, stride, height, {}, true);
      std::vector<guint8> ref = fast;
      const gint y0 = width % 3, y1 = height - (width % 2);
      cp::unpremultiply_rows(src.data(), fast.data(), stride, width, y0, y1);
      cp::unpremultiply_rows_reference(src.data(), ref.data(), stride, width, y0, y1);
      fail_unless(fast == ref, "width %d stride %d: optimised and reference differ", width, stride);
      /* In place gives the same. */
      std::vector<guint8> inplace = src;
      std::vector<guint8> expected = src;
      cp::unpremultiply_rows(inplace.data(), inplace.data(), stride, width, 0, height);
      cp::unpremultiply_rows_reference(src.data(), expected.data(), stride, width, 0, height);
      fail_unless(inplace == expected, "width %d stride %d: in place differs", width, stride);
    }
  }
  g_rand_free(rand);
}
GST_END_TEST;

/* The scan finds the first row with a translucent pixel wherever it is
 * (first/last column, last row, vector tails), ignores the padding, and
 * reports none for opaque and fully transparent pixels. */
GST_START_TEST(test_scan_matches_reference)
{
  GRand *rand = g_rand_new_with_seed(7);
  for (gint width : {1, 2, 3, 7, 8, 9, 31, 32, 33, 63, 65, 100, 1921}) {
    for (gint pad : {0, 4, 20}) {
      const gint stride = width * 4 + pad, height = 9;
      /* Opaque and transparent pixels only; translucent alpha in the padding. */
      std::vector<guint8> img = random_image(rand, stride, height, {0, 255}, false);
      for (gint y = 0; y < height; y++)
        for (gint x = width; x < stride / 4; x++)
          set_pixel(img, stride, x, y, 0x80404040u);
      fail_unless_equals_int(cp::first_translucent_row_reference(img.data(), stride, width, height),
                             height);
      fail_unless_equals_int(cp::first_translucent_row(img.data(), stride, width, height), height);

      /* One translucent pixel at several places, with several alphas. */
      const gint xs[] = {0, width - 1, width / 2, (gint)g_rand_int_range(rand, 0, width)};
      for (gint x : xs) {
        for (gint y : {0, height - 1, (gint)g_rand_int_range(rand, 0, height)}) {
          for (guint32 a : {1u, 127u, 254u}) {
            std::vector<guint8> one = img;
            set_pixel(one, stride, x, y, a << 24);
            gint ref = cp::first_translucent_row_reference(one.data(), stride, width, height);
            fail_unless_equals_int(ref, y);
            fail_unless_equals_int(cp::first_translucent_row(one.data(), stride, width, height),
                                   ref);
          }
        }
      }
      /* Random alphas everywhere. */
      std::vector<guint8> any = random_image(rand, stride, height, {}, false);
      fail_unless_equals_int(
          cp::first_translucent_row(any.data(), stride, width, height),
          cp::first_translucent_row_reference(any.data(), stride, width, height));
    }
  }
  /* All zero (a cleared canvas) and all opaque. */
  std::vector<guint8> zero(64 * 4 * 5, 0), opaque(64 * 4 * 5, 0xff);
  fail_unless_equals_int(cp::first_translucent_row(zero.data(), 64 * 4, 64, 5), 5);
  fail_unless_equals_int(cp::first_translucent_row(opaque.data(), 64 * 4, 64, 5), 5);
  g_rand_free(rand);
}
GST_END_TEST;

/* Every alpha value at every position of the vector loops (4 x 8 pixels a
 * step in the scan, 2 x 8 in the copy) and of the scalar tail, over colour
 * bytes of all ones (a carry out of the colour bytes would change alpha):
 * the scan, the one-pass copy and their references agree, row by row. */
GST_START_TEST(test_scan_every_alpha_every_lane)
{
  for (gint width : {37, 67}) {
    const gint stride = width * 4 + 12, height = 3;
    std::vector<guint8> img((gsize)stride * height);
    for (gint y = 0; y < height; y++)
      for (gint x = 0; x < stride / 4; x++)
        set_pixel(img, stride, x, y, 0xffffffffu);
    std::vector<guint8> out(img.size()), ref(img.size());
    for (guint32 a = 0; a < 256; a++) {
      const bool translucent = a != 0 && a != 255;
      for (gint x = 0; x < width; x++) {
        std::vector<guint8> one = img;
        set_pixel(one, stride, x, 1, (a << 24) | 0x00ffffffu);
        const gint want = translucent ? 1 : height;
        fail_unless_equals_int(
            cp::first_translucent_row_reference(one.data(), stride, width, height), want);
        fail_unless(cp::first_translucent_row(one.data(), stride, width, height) == want,
                    "alpha %u at x %d of width %d", a, x, width);
        cp::copy_rows_straight_alpha(one.data(), out.data(), stride, width, height);
        cp::unpremultiply_rows_reference(one.data(), ref.data(), stride, width, 0, height);
        for (gint y = 0; y < height; y++)
          fail_unless(memcmp(out.data() + (gsize)y * stride, ref.data() + (gsize)y * stride,
                             (gsize)width * 4) == 0,
                      "copy: alpha %u at x %d of width %d, row %d", a, x, width, y);
      }
    }
  }
}
GST_END_TEST;

/* The one-pass copy gives what the unpremultiply gives, row by row, whether
 * the rows are opaque, translucent or mixed; the padding is left alone. */
GST_START_TEST(test_copy_rows_straight_alpha)
{
  GRand *rand = g_rand_new_with_seed(99);
  const std::vector<std::vector<guint32>> alpha_sets = {{255}, {0, 255}, {}, {0, 1, 254, 255}};
  for (gint width = 1; width <= 40; width++) {
    for (gint pad : {0, 8}) {
      const gint stride = width * 4 + pad, height = 6;
      std::vector<guint8> src =
          random_image(rand, stride, height, alpha_sets[width % alpha_sets.size()], false);
      /* One opaque row and one row with a single translucent last pixel. */
      for (gint x = 0; x < width; x++)
        set_pixel(src, stride, x, 1, 0xff000000u | x);
      for (gint x = 0; x < width; x++)
        set_pixel(src, stride, x, 2, 0xff102030u);
      set_pixel(src, stride, width - 1, 2, 0x80402010u);
      std::vector<guint8> fast = random_image(rand, stride, height, {}, true);
      std::vector<guint8> ref = fast;
      cp::copy_rows_straight_alpha(src.data(), fast.data(), stride, width, height);
      cp::unpremultiply_rows_reference(src.data(), ref.data(), stride, width, 0, height);
      fail_unless(fast == ref, "width %d stride %d: one-pass copy and reference differ", width,
                  stride);
    }
  }
  /* A whole buffer, from a pool. */
  const gint width = 33, height = 5, stride = cp::stride_for_width(width);
  std::vector<guint8> img = random_image(rand, stride, height, {0, 128, 255}, false);
  GstBuffer *canvas = gst_buffer_new_allocate(nullptr, img.size(), nullptr);
  gst_buffer_fill(canvas, 0, img.data(), img.size());
  check_straight_frame(cp::straight_alpha_copy(canvas, width, height, nullptr), img, stride, width,
                       height);
  gst_buffer_unref(canvas);
  g_rand_free(rand);
}
GST_END_TEST;

/* Downstream keeping frames is learnt from a pushed canvas still held at the
 * next drawing, and unlearnt at a probe that finds it free. */
GST_START_TEST(test_hold_tracker)
{
  cp::HoldTracker t;
  fail_if(t.frame_as_copy());
  t.on_draw(false); /* not pushed: says nothing */
  fail_if(t.downstream_keeps());
  t.on_canvas_pushed();
  t.on_draw(true);
  fail_if(t.downstream_keeps());
  t.on_canvas_pushed();
  t.on_draw(false); /* still held: copied */
  fail_unless(t.downstream_keeps());
  guint copies = 0, probes = 0;
  for (guint i = 0; i < 2 * cp::HoldTracker::PROBE_PERIOD; i++) {
    if (t.frame_as_copy()) {
      copies++;
      t.on_draw(true); /* the canvas stayed ours */
    } else {
      probes++;
      t.on_canvas_pushed();
      t.on_draw(false); /* downstream still holds it */
    }
  }
  fail_unless_equals_int(probes, 2);
  fail_unless_equals_int(copies, 2 * cp::HoldTracker::PROBE_PERIOD - 2);
  fail_unless(t.downstream_keeps());
  /* A probe finds the canvas free: back to handing it out. */
  while (t.frame_as_copy())
    ;
  t.on_canvas_pushed();
  t.on_draw(true);
  fail_if(t.downstream_keeps());
  fail_if(t.frame_as_copy());
}
GST_END_TEST;

GST_START_TEST(test_buffer_is_exclusive)
{
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, 64, nullptr);
  fail_unless(cp::buffer_is_exclusive(buf));

  /* Held by someone else (a sink keeping the last sample). */
  gst_buffer_ref(buf);
  fail_if(cp::buffer_is_exclusive(buf));
  gst_buffer_unref(buf);
  fail_unless(cp::buffer_is_exclusive(buf));

  /* Its memory shared with another buffer. */
  GstBuffer *shared = gst_buffer_copy(buf);
  fail_if(cp::buffer_is_exclusive(buf));
  fail_if(cp::buffer_is_exclusive(shared));
  gst_buffer_unref(shared);
  fail_unless(cp::buffer_is_exclusive(buf));

  /* Two memories. */
  gst_buffer_append_memory(buf, gst_allocator_alloc(nullptr, 16, nullptr));
  fail_if(cp::buffer_is_exclusive(buf));
  gst_buffer_unref(buf);

  /* Read-only memory. */
  static guint8 bytes[16];
  GstBuffer *ro = gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, bytes, sizeof(bytes), 0,
                                              sizeof(bytes), nullptr, nullptr);
  fail_if(cp::buffer_is_exclusive(ro));
  gst_buffer_unref(ro);
}
GST_END_TEST;

GstBufferPool *new_pool(gsize size)
{
  GstBufferPool *pool = gst_buffer_pool_new();
  GstStructure *config = gst_buffer_pool_get_config(pool);
  gst_buffer_pool_config_set_params(config, nullptr, size, 2, 0);
  fail_unless(gst_buffer_pool_set_config(pool, config));
  return pool;
}

/* Frames come from the pool when it fits, and return to it: the memory of a
 * released frame is the memory of the next one (no new allocation). */
GST_START_TEST(test_alloc_frame_recycles)
{
  const gsize size = 4 * 16 * 8;
  GstBufferPool *pool = new_pool(size);

  /* Not active yet: a fresh buffer. */
  GstBuffer *buf = cp::alloc_frame(pool, size);
  fail_unless(buf->pool == nullptr);
  fail_unless_equals_int(gst_buffer_get_size(buf), size);
  gst_buffer_unref(buf);

  fail_unless(gst_buffer_pool_set_active(pool, TRUE));
  GstBuffer *a = cp::alloc_frame(pool, size);
  fail_unless(a->pool == pool);
  GstMemory *mem = gst_buffer_peek_memory(a, 0);
  gst_buffer_unref(a);
  GstBuffer *b = cp::alloc_frame(pool, size);
  GstBuffer *c = cp::alloc_frame(pool, size);
  fail_unless(gst_buffer_peek_memory(b, 0) == mem || gst_buffer_peek_memory(c, 0) == mem);

  /* Copy into recycled memory: same bytes, pool memory. */
  gst_buffer_memset(b, 0, 0x5a, size);
  gst_buffer_memset(b, 7, 0x11, 1);
  GstBuffer *copy = cp::copy_frame(b, pool, cp::CopyUse::Draw);
  fail_unless(copy->pool == pool);
  GstMapInfo mb, mc;
  fail_unless(gst_buffer_map(b, &mb, GST_MAP_READ));
  fail_unless(gst_buffer_map(copy, &mc, GST_MAP_READ));
  fail_unless(mb.size == mc.size && memcmp(mb.data, mc.data, mb.size) == 0);
  gst_buffer_unmap(copy, &mc);
  gst_buffer_unmap(b, &mb);
  gst_buffer_unref(copy);
  gst_buffer_unref(b);
  gst_buffer_unref(c);

  /* Another size, or no pool: a fresh buffer of the size asked. */
  buf = cp::alloc_frame(pool, size + 4);
  fail_unless(buf->pool == nullptr);
  fail_unless_equals_int(gst_buffer_get_size(buf), size + 4);
  gst_buffer_unref(buf);
  buf = cp::alloc_frame(nullptr, 12);
  fail_unless_equals_int(gst_buffer_get_size(buf), 12);
  gst_buffer_unref(buf);

  fail_unless(gst_buffer_pool_set_active(pool, FALSE));
  gst_object_unref(pool);
}
GST_END_TEST;

/* Which sizes go to huge pages: from 2 MB, rounded up by at most a quarter. */
GST_START_TEST(test_huge_pages_sizes)
{
  const gsize mb2 = 2 * 1024 * 1024;
  fail_if(cp::uses_huge_pages(0));
  fail_if(cp::uses_huge_pages(640 * 360 * 4));
  fail_if(cp::uses_huge_pages(mb2 - 1));
  fail_unless(cp::uses_huge_pages(mb2));
  fail_if(cp::uses_huge_pages(mb2 + 1)); /* 4 MB for 2 MB: half of it wasted */
  fail_unless(cp::uses_huge_pages(1280 * 720 * 4));
  fail_unless(cp::uses_huge_pages(1920 * 1080 * 4));
  fail_unless(cp::uses_huge_pages(3840 * 2160 * 4));
  fail_unless(cp::uses_huge_pages(5 * mb2 + 1)); /* 10 MB + 1: 2 MB - 1 more */
  fail_if(cp::uses_huge_pages(2 * mb2 + 1));     /* 4 MB + 1: 2 MB - 1 more */
}
GST_END_TEST;

/* The frame allocator's memory: system memory of the size asked, prefix and
 * padding kept, writable and shareable; large sizes start on a 2 MB boundary
 * (Linux), small ones come from the default allocator. */
GST_START_TEST(test_frame_allocator)
{
  GstAllocator *allocator = cp::frame_allocator();
  fail_unless(allocator != nullptr);
  fail_unless(cp::frame_allocator() == allocator);

  for (gsize size : {(gsize)1920 * 1080 * 4, (gsize)640 * 360 * 4, (gsize)12}) {
    for (gsize prefix : {(gsize)0, (gsize)64}) {
      GstAllocationParams params;
      gst_allocation_params_init(&params);
      params.prefix = prefix;
      params.padding = 16;
      params.align = 63;
      GstMemory *mem = gst_allocator_alloc(allocator, size, &params);
      fail_unless(mem != nullptr);
      fail_unless(gst_memory_is_type(mem, GST_ALLOCATOR_SYSMEM));
      gsize offset = 0, maxsize = 0;
      fail_unless_equals_int(gst_memory_get_sizes(mem, &offset, &maxsize), size);
      fail_unless_equals_int(offset, prefix);
      fail_unless(maxsize >= prefix + size + 16);
      GstMapInfo map;
      fail_unless(gst_memory_map(mem, &map, GST_MAP_READWRITE));
      fail_unless_equals_int(map.size, size);
      fail_unless(((guintptr)map.data & 63) == 0);
#ifdef __linux__
      if (cp::uses_huge_pages(prefix + size + 16))
        fail_unless(((guintptr)(map.data - prefix) & (2 * 1024 * 1024 - 1)) == 0,
                    "%" G_GSIZE_FORMAT " bytes not on a 2 MB boundary", size);
#endif
      memset(map.data, 0xa5, map.size);
      gst_memory_unmap(mem, &map);
      GstMemory *part = gst_memory_share(mem, 1, size - 2);
      fail_unless(gst_memory_map(part, &map, GST_MAP_READ));
      fail_unless(map.data[0] == 0xa5 && map.data[size - 3] == 0xa5);
      gst_memory_unmap(part, &map);
      gst_memory_unref(part);
      gst_memory_unref(mem);
    }
  }

  /* alloc_frame() without a pool uses it. */
  GstBuffer *buf = cp::alloc_frame(nullptr, 1920 * 1080 * 4);
  fail_unless_equals_int(gst_buffer_get_size(buf), 1920 * 1080 * 4);
#ifdef __linux__
  GstMapInfo map;
  fail_unless(gst_buffer_map(buf, &map, GST_MAP_WRITE));
  fail_unless(((guintptr)map.data & (2 * 1024 * 1024 - 1)) == 0);
  gst_buffer_unmap(buf, &map);
#endif
  gst_buffer_unref(buf);
}
GST_END_TEST;

/* A bounded pool whose buffers are all downstream: a fresh buffer, at once
 * (drawing never waits for downstream). */
GST_START_TEST(test_alloc_frame_never_waits)
{
  const gsize size = 256;
  GstBufferPool *pool = gst_buffer_pool_new();
  GstStructure *config = gst_buffer_pool_get_config(pool);
  gst_buffer_pool_config_set_params(config, nullptr, size, 1, 1);
  fail_unless(gst_buffer_pool_set_config(pool, config));
  fail_unless(gst_buffer_pool_set_active(pool, TRUE));
  GstBuffer *held = cp::alloc_frame(pool, size);
  fail_unless(held->pool == pool);
  GstBuffer *next = cp::alloc_frame(pool, size); /* would block without DONTWAIT */
  fail_unless(next->pool == nullptr);
  fail_unless_equals_int(gst_buffer_get_size(next), size);
  gst_buffer_unref(next);
  gst_buffer_unref(held);
  fail_unless(gst_buffer_pool_set_active(pool, FALSE));
  gst_object_unref(pool);
}
GST_END_TEST;

/* make_frame's conversion: an opaque/transparent canvas is the frame as it
 * is; a translucent one gives a straight-alpha frame equal to the reference,
 * rows above the first translucent one copied. */
/* Frames of STREAM_MIN_BYTES and more are written with streaming stores:
 * the bytes are those of memcpy() and of the reference, whatever the
 * alignment of source and destination and of each row (a stride that is not
 * a multiple of 16 moves the 16-byte boundary from row to row). */
GST_START_TEST(test_streamed_frames)
{
  GRand *rand = g_rand_new_with_seed(7);
  const gsize n = cp::STREAM_MIN_BYTES + 77;
  std::vector<guint8> src(n + 16), dst(n + 32), want(n + 32);
  for (auto &b : src)
    b = (guint8)g_rand_int_range(rand, 0, 256);
  for (gsize s_off : {0, 3}) {
    for (gsize d_off : {0, 1, 4, 8, 15}) {
      for (gsize len : {n, n - 1, n - 64}) {
        std::fill(dst.begin(), dst.end(), 0xa5);
        want = dst;
        memcpy(want.data() + d_off, src.data() + s_off, len);
        cp::stream_bytes(dst.data() + d_off, src.data() + s_off, len);
        fail_unless(dst == want, "stream_bytes: source +%zu, destination +%zu, %zu bytes", s_off,
                    d_off, len);
      }
    }
  }

  /* 1021 pixels a row (stride 4084 or 4096 with padding), enough rows for
   * 2 MB; opaque rows, a row with one translucent pixel, translucent rows. */
  for (gint pad : {0, 12}) {
    const gint width = 1021, stride = width * 4 + pad;
    const gint height = (gint)(cp::STREAM_MIN_BYTES / stride) + 2;
    std::vector<guint8> img = random_image(rand, stride, height, {0, 255}, false);
    for (gint y = 0; y < height; y += 37)
      set_pixel(img, stride, g_rand_int_range(rand, 0, width), y, 0x80402010u);
    for (gint y = 100; y < 120; y++)
      for (gint x = 0; x < width; x++)
        set_pixel(img, stride, x, y, random_pixel(rand, {1, 128, 254}, false));
    std::vector<guint8> expected(img.size());
    cp::unpremultiply_rows_reference(img.data(), expected.data(), stride, width, 0, height);
    for (gsize d_off : {0, 4, 8, 12}) {
      std::vector<guint8> out(img.size() + 16, 0x5a);
      cp::copy_rows_straight_alpha(img.data(), out.data() + d_off, stride, width, height);
      for (gint y = 0; y < height; y++)
        fail_unless(memcmp(out.data() + d_off + (gsize)y * stride,
                           expected.data() + (gsize)y * stride, (gsize)width * 4) == 0,
                    "straight-alpha copy, padding %d, destination +%zu: row %d differs", pad, d_off,
                    y);
    }
  }

  /* Through buffers: the copy handed downstream, the converted frame. */
  const gint width = 1021, stride = cp::stride_for_width(width);
  const gint height = (gint)(cp::STREAM_MIN_BYTES / stride) + 2;
  std::vector<guint8> img = random_image(rand, stride, height, {0, 255}, false);
  GstBuffer *canvas = gst_buffer_new_allocate(nullptr, img.size(), nullptr);
  gst_buffer_fill(canvas, 0, img.data(), img.size());
  GstBuffer *copy = cp::copy_frame(canvas, nullptr, cp::CopyUse::Frame);
  fail_unless(gst_buffer_memcmp(copy, 0, img.data(), img.size()) == 0);
  gst_buffer_unref(copy);
  for (gint y = height / 2; y < height; y += 5)
    set_pixel(img, stride, y % width, y, 0x7f7f0000u);
  gst_buffer_fill(canvas, 0, img.data(), img.size());
  bool same = true;
  GstBuffer *frame = cp::unpremultiplied_frame(canvas, width, height, nullptr, &same);
  fail_unless(frame != nullptr && !same);
  check_straight_frame(frame, img, stride, width, height);
  check_straight_frame(cp::straight_alpha_copy(canvas, width, height, nullptr), img, stride, width,
                       height);
  gst_buffer_unref(canvas);
  g_rand_free(rand);
}
GST_END_TEST;

GST_START_TEST(test_unpremultiplied_frame)
{
  GRand *rand = g_rand_new_with_seed(42);
  const gint width = 37, height = 11, stride = cp::stride_for_width(width);
  fail_unless_equals_int(stride, width * 4);
  std::vector<guint8> img = random_image(rand, stride, height, {0, 255}, false);
  GstBuffer *canvas = gst_buffer_new_allocate(nullptr, img.size(), nullptr);
  gst_buffer_fill(canvas, 0, img.data(), img.size());

  bool same = false;
  GstBuffer *frame = cp::unpremultiplied_frame(canvas, width, height, nullptr, &same);
  fail_unless(frame == nullptr && same);

  for (gint y : {0, 5, height - 1}) {
    std::vector<guint8> t = img;
    set_pixel(t, stride, width - 1, y, 0x40102030u);
    set_pixel(t, stride, 3, height - 1, 0x7f7f0000u);
    gst_buffer_fill(canvas, 0, t.data(), t.size());
    frame = cp::unpremultiplied_frame(canvas, width, height, nullptr, &same);
    fail_unless(frame != nullptr && !same);
    std::vector<guint8> expected(t.size());
    cp::unpremultiply_rows_reference(t.data(), expected.data(), stride, width, 0, height);
    fail_unless(gst_buffer_memcmp(frame, 0, expected.data(), expected.size()) == 0);
    guint32 p;
    gst_buffer_extract(frame, (gsize)y * stride + 4 * (width - 1), &p, 4);
    fail_unless_equals_int(p, 0x404080bfu);
    gst_buffer_unref(frame);
  }
  gst_buffer_unref(canvas);
  g_rand_free(rand);
}
GST_END_TEST;

/* Through the element: frames held downstream (an appsink queueing them all)
 * make canvascapturesrc hand out copies of the canvas (alpha=true: one-pass
 * converted copies), and the canvas itself every 32nd frame to probe;
 * whatever the path, each frame is the image of what was drawn for it
 * (alpha=true: in straight alpha). */
struct ExpectedFrames {
  bool alpha = true;
  std::vector<std::vector<guint8>> frames;
};

gboolean on_draw_mixed(GstElement *, cairo_t *cr, guint64, gpointer user_data)
{
  auto *exp = static_cast<ExpectedFrames *>(user_data);
  const guint n = exp->frames.size();
  cairo_save(cr);
  /* Every fourth frame draws on the previous one (the canvas is kept);
   * opaque two frames out of three, translucent the third. */
  if (n % 4 != 3) {
    cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE);
    cairo_set_source_rgba(cr, (n % 7) / 7.0, 0.4, 0.6, n % 3 == 2 ? 0.5 : 1.0);
    cairo_paint(cr);
  }
  cairo_set_operator(cr, CAIRO_OPERATOR_OVER);
  cairo_set_source_rgba(cr, 1.0, 0.2, 0.1, n % 5 == 0 ? 0.75 : 1.0);
  cairo_rectangle(cr, n % 30, 2, 5, 4);
  cairo_fill(cr);
  cairo_restore(cr);
  cairo_surface_t *target = cairo_get_target(cr);
  cairo_surface_flush(target);
  const gint width = cairo_image_surface_get_width(target);
  const gint height = cairo_image_surface_get_height(target);
  const gint stride = cairo_image_surface_get_stride(target);
  const guint8 *data = cairo_image_surface_get_data(target);
  std::vector<guint8> frame((gsize)stride * height);
  if (exp->alpha)
    cp::unpremultiply_rows_reference(data, frame.data(), stride, width, 0, height);
  else
    memcpy(frame.data(), data, frame.size()); /* BGRx: the canvas's bytes */
  exp->frames.push_back(std::move(frame));
  return TRUE;
}

/* Frames held downstream are what was drawn, while the canvas goes on from
 * the last picture. */
void check_frames_when_downstream_keeps_them(bool alpha, gint width, gint height, guint frames)
{
  gchar *desc = g_strdup_printf("canvascapturesrc name=src is-live=false frame-rate=30 "
                                "alpha=%s width=%d height=%d num-buffers=%u "
                                "! appsink name=sink sync=false",
                                alpha ? "true" : "false", width, height, frames);
  GstElement *pipeline = gst_parse_launch(desc, nullptr);
  g_free(desc);
  fail_unless(pipeline != nullptr);
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  ExpectedFrames exp;
  exp.alpha = alpha;
  g_signal_connect(src, "draw", G_CALLBACK(on_draw_mixed), &exp);
  fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);

  /* The appsink queues every frame until pulled (it holds them all): pull
   * once the last one is in, so that all were held while the next were made. */
  std::vector<GstSample *> samples;
  for (guint n = 0; n < frames; n++) {
    GstSample *sample = nullptr;
    g_signal_emit_by_name(sink, "try-pull-sample", (GstClockTime)(30 * GST_SECOND), &sample);
    fail_unless(sample != nullptr, "frame %u missing", n);
    samples.push_back(sample);
    if (n == 0) {
      /* Wait for the source to have made them all (it never waits for us). */
      for (int i = 0; i < 3000; i++) {
        guint64 captured = 0;
        GstStructure *st = nullptr;
        g_object_get(src, "stats", &st, nullptr);
        gst_structure_get_uint64(st, "frames-captured", &captured);
        gst_structure_free(st);
        if (captured >= frames)
          break;
        g_usleep(10000);
      }
    }
  }
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, 30 * GST_SECOND, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(msg != nullptr && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS);
  gst_message_unref(msg);
  gst_object_unref(bus);

  fail_unless_equals_int(exp.frames.size(), frames);
  for (guint n = 0; n < frames; n++) {
    GstBuffer *buf = gst_sample_get_buffer(samples[n]);
    fail_unless_equals_int(gst_buffer_get_size(buf), exp.frames[n].size());
    fail_unless(gst_buffer_memcmp(buf, 0, exp.frames[n].data(), exp.frames[n].size()) == 0,
                "alpha=%d %dx%d: frame %u differs from what was drawn", alpha, width, height, n);
    gst_sample_unref(samples[n]);
  }

  /* The canvas was copied for the first frame held and at the probes only:
   * the other frames were copies made for downstream. */
  GstStructure *stats = nullptr;
  g_object_get(src, "stats", &stats, nullptr);
  guint64 copies = G_MAXUINT64;
  fail_unless(gst_structure_get_uint64(stats, "canvas-copies", &copies));
  fail_unless(copies <= 1 + frames / cp::HoldTracker::PROBE_PERIOD,
              "%" G_GUINT64_FORMAT " copies of the canvas", copies);
  gst_structure_free(stats);

  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
}

GST_START_TEST(test_element_frames_when_downstream_keeps_them)
{
  for (bool alpha : {true, false})
    check_frames_when_downstream_keeps_them(alpha, 37, 9, 70);
  /* Large enough for streaming stores (1021 x 520 x 4 > 2 MB). */
  for (bool alpha : {true, false})
    check_frames_when_downstream_keeps_them(alpha, 1021, 520, 40);
}
GST_END_TEST;

Suite *canvaspixels_suite()
{
  Suite *s = suite_create("canvaspixels");
  TCase *tc = tcase_create("pixels");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_unpremultiply_reference_values);
  tcase_add_test(tc, test_unpremultiply_every_pair);
  tcase_add_test(tc, test_unpremultiply_random_images);
  tcase_add_test(tc, test_scan_matches_reference);
  tcase_add_test(tc, test_scan_every_alpha_every_lane);
  tcase_add_test(tc, test_copy_rows_straight_alpha);
  tcase_add_test(tc, test_hold_tracker);
  tcase_add_test(tc, test_buffer_is_exclusive);
  tcase_add_test(tc, test_alloc_frame_recycles);
  tcase_add_test(tc, test_alloc_frame_never_waits);
  tcase_add_test(tc, test_huge_pages_sizes);
  tcase_add_test(tc, test_frame_allocator);
  tcase_add_test(tc, test_unpremultiplied_frame);
  tcase_add_test(tc, test_streamed_frames);
  tcase_add_test(tc, test_element_frames_when_downstream_keeps_them);
  return s;
}

} // namespace

GST_CHECK_MAIN(canvaspixels);
