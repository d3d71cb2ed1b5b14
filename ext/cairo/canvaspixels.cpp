/* canvaspixels: the pixel work of canvascapturesrc (see canvaspixels.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "canvaspixels.h"

#include <cairo.h>

#include <cstring>

#ifdef __linux__
#include <sys/mman.h>
#endif
#if defined(__x86_64__) || (defined(__i386__) && defined(__SSE2__))
#include <emmintrin.h>
#define CANVAS_PIXELS_STREAM 1
#endif

namespace canvas_pixels
{

namespace
{

/* Eight pixels a vector: GCC's generic vectors, compiled to AVX2 where the CPU
 * has it (target_clones picks at load time), to SSE2/NEON pairs elsewhere. */
typedef guint32 U32x8 __attribute__((vector_size(32)));
typedef gint32 I32x8 __attribute__((vector_size(32)));
typedef float F32x8 __attribute__((vector_size(32)));
constexpr gint LANES = 8;

#if defined(__GNUC__) && !defined(__clang__)
/* The vectors only travel between inlined helpers of this file: GCC's note
 * that passing them by value would change the ABI without AVX (x86, i386,
 * other CPUs) concerns no call that leaves it. */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CANVAS_PIXELS_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CANVAS_PIXELS_CLONES
#endif

inline U32x8 load8(const guint32 *p)
{
  U32x8 v;
  memcpy(&v, p, sizeof(v));
  return v;
}

/* Adding 1 to the alpha byte alone (no carry from the colour bytes, the
 * carry out of the word is dropped) leaves 0 in bits 25..31 exactly for
 * alpha 0 and 255. As (x | y) & m == (x & m) | (y & m), the sums of a row are
 * ORed together and masked once at the end: two vector operations per eight
 * pixels, so the scan runs at the speed memory delivers the pixels. */
constexpr guint32 ALPHA_ONE = 0x01000000u, TRANSLUCENT_MASK = 0xfe000000u;

/* Whether a row holds a translucent pixel: one pass, branch-free. */
CANVAS_PIXELS_CLONES bool row_is_translucent(const guint32 *px, gint width)
{
  U32x8 t0 = {}, t1 = {}, t2 = {}, t3 = {};
  gint x = 0;
  for (; x + 4 * LANES <= width; x += 4 * LANES) {
    t0 |= load8(px + x) + ALPHA_ONE;
    t1 |= load8(px + x + LANES) + ALPHA_ONE;
    t2 |= load8(px + x + 2 * LANES) + ALPHA_ONE;
    t3 |= load8(px + x + 3 * LANES) + ALPHA_ONE;
  }
  t0 |= t1 | t2 | t3;
  guint32 t = 0;
  for (gint i = 0; i < LANES; i++)
    t |= t0[i];
  for (; x < width; x++)
    t |= px[x] + ALPHA_ONE;
  return (t & TRANSLUCENT_MASK) != 0;
}

/* Straight-alpha colour of premultiplied @c at alpha @a in 1..254. */
inline guint32 unpremultiply_channel(guint32 c, guint32 a)
{
  return MIN(255u, (c * 255 + a / 2) / a);
}

/* Stores eight pixels at @p; with @stream, past the caches (streaming
 * stores: @p must then be 16-byte aligned). */
inline void store8(guint32 *p, U32x8 v, bool stream)
{
#ifdef CANVAS_PIXELS_STREAM
  if (stream) {
    __m128i lo, hi;
    memcpy(&lo, &v, sizeof(lo));
    memcpy(&hi, reinterpret_cast<const char *>(&v) + sizeof(lo), sizeof(hi));
    _mm_stream_si128(reinterpret_cast<__m128i *>(p), lo);
    _mm_stream_si128(reinterpret_cast<__m128i *>(p) + 1, hi);
    return;
  }
#endif
  memcpy(p, &v, sizeof(v));
}

/* Eight pixels at once in single precision: q = c * (255 / a) + 0.5 + 2^-10,
 * truncated, is exactly min(255, (c * 255 + a / 2) / a) for a in 1..254:
 * c * 255 / a + 0.5 is a multiple of 1 / (2a) >= 1/510 away from the next
 * integer unless it is one, and the two roundings err by less than 2^-14 for
 * results up to 255, so the bias 2^-10 lands on the right side (the unit
 * test checks every (a, c) pair). Alpha 0 and 255 keep the pixel as it is. */
CANVAS_PIXELS_CLONES void unpremultiply_row(const guint32 *in, guint32 *out, gint width,
                                            bool stream)
{
  const F32x8 k255 = {255.f, 255.f, 255.f, 255.f, 255.f, 255.f, 255.f, 255.f};
  const float b = 0.5f + 1.0f / 1024;
  const F32x8 bias = {b, b, b, b, b, b, b, b};
  gint x = 0;
  for (; x + LANES <= width; x += LANES) {
    U32x8 p = load8(in + x);
    U32x8 a = p >> 24;
    I32x8 keep = (a == 0) | (a == 255);
    F32x8 scale = k255 / __builtin_convertvector((I32x8)a, F32x8); /* inf where a == 0 */
    auto div = [&](U32x8 c) {
      F32x8 v = __builtin_convertvector((I32x8)c, F32x8) * scale + bias;
      v = v < k255 ? v : k255; /* also NaN and inf (a == 0: kept anyway) */
      return (U32x8) __builtin_convertvector(v, I32x8);
    };
    U32x8 q =
        (a << 24) | (div((p >> 16) & 0xff) << 16) | (div((p >> 8) & 0xff) << 8) | div(p & 0xff);
    store8(out + x, keep ? p : q, stream);
  }
  for (; x < width; x++)
    out[x] = unpremultiply_pixel_reference(in[x]);
}

/* Copies a row of pixels (stores as store8()). */
CANVAS_PIXELS_CLONES void copy_row(const guint32 *in, guint32 *out, gint width, bool stream)
{
  gint x = 0;
  for (; x + 2 * LANES <= width; x += 2 * LANES) {
    U32x8 a = load8(in + x), b = load8(in + x + LANES);
    store8(out + x, a, stream);
    store8(out + x + LANES, b, stream);
  }
  for (; x < width; x++)
    out[x] = in[x];
}

/* Whether a frame of @size bytes at @dst, rows @stride apart, is written
 * with streaming stores: large enough, and rows that can be aligned to 16
 * bytes by skipping whole pixels. */
bool stream_frame(const guint8 *dst, gint stride, gsize size)
{
#ifdef CANVAS_PIXELS_STREAM
  return size >= STREAM_MIN_BYTES && (reinterpret_cast<guintptr>(dst) & 3) == 0 &&
         (stride & 3) == 0;
#else
  (void)dst;
  (void)stride;
  (void)size;
  return false;
#endif
}

/* Pixels at the start of row @out before a 16-byte boundary, when streaming. */
gint stream_head(const guint32 *out, gint width, bool stream)
{
  if (!stream)
    return 0;
  return MIN(width, (gint)(((16 - (reinterpret_cast<guintptr>(out) & 15)) & 15) / 4));
}

/* Writes rows [@y0, @y1) of @src to @dst in straight alpha (stores as
 * store8(); @stream from stream_frame()). With @scan, each row is first
 * checked and copied as it is when it holds no translucent pixel (the scan
 * leaves it in the cache for the copy or the conversion); without, every
 * row is unpremultiplied. */
void write_straight_rows(const guint8 *src, guint8 *dst, gint stride, gint width, gint y0, gint y1,
                         bool stream, bool scan)
{
  for (gint y = y0; y < y1; y++) {
    const guint32 *in = reinterpret_cast<const guint32 *>(src + (gsize)y * stride);
    guint32 *out = reinterpret_cast<guint32 *>(dst + (gsize)y * stride);
    const gint head = stream_head(out, width, stream);
    for (gint x = 0; x < head; x++)
      out[x] = unpremultiply_pixel_reference(in[x]);
    if (!scan || row_is_translucent(in + head, width - head))
      unpremultiply_row(in + head, out + head, width - head, stream);
    else
      copy_row(in + head, out + head, width - head, stream);
  }
}

void stream_fence(bool stream)
{
#ifdef CANVAS_PIXELS_STREAM
  if (stream)
    _mm_sfence(); /* the stores are visible before the frame is handed on */
#else
  (void)stream;
#endif
}

} // namespace

void stream_bytes(guint8 *dst, const guint8 *src, gsize n)
{
#ifdef CANVAS_PIXELS_STREAM
  if (n >= STREAM_MIN_BYTES) {
    /* On the development machine (32 MB L3) a 1080p canvas copies in about
     * 0.5 ms this way, against 1.1-1.6 ms for memcpy(). */
    const gsize head = (16 - (reinterpret_cast<guintptr>(dst) & 15)) & 15;
    memcpy(dst, src, head);
    dst += head;
    src += head;
    n -= head;
    auto *out = reinterpret_cast<__m128i *>(dst);
    const auto *in = reinterpret_cast<const __m128i *>(src);
    const gsize blocks = n / 64;
    for (gsize i = 0; i < blocks; i++, in += 4, out += 4) {
      const __m128i a = _mm_loadu_si128(in), b = _mm_loadu_si128(in + 1),
                    c = _mm_loadu_si128(in + 2), d = _mm_loadu_si128(in + 3);
      _mm_stream_si128(out, a);
      _mm_stream_si128(out + 1, b);
      _mm_stream_si128(out + 2, c);
      _mm_stream_si128(out + 3, d);
    }
    _mm_sfence(); /* the stores are visible before the frame is handed on */
    memcpy(out, in, n % 64);
    return;
  }
#endif
  memcpy(dst, src, n);
}

gint stride_for_width(gint width)
{
  return cairo_format_stride_for_width(CAIRO_FORMAT_ARGB32, width);
}

gint first_translucent_row(const guint8 *data, gint stride, gint width, gint height)
{
  for (gint y = 0; y < height; y++)
    if (row_is_translucent(reinterpret_cast<const guint32 *>(data + (gsize)y * stride), width))
      return y;
  return height;
}

gint first_translucent_row_reference(const guint8 *data, gint stride, gint width, gint height)
{
  for (gint y = 0; y < height; y++) {
    const guint8 *row = data + (gsize)y * stride;
    for (gint x = 0; x < width; x++) {
      guint32 pixel;
      memcpy(&pixel, row + 4 * x, 4);
      guint32 a = pixel >> 24;
      if (a != 0 && a != 255)
        return y;
    }
  }
  return height;
}

guint32 unpremultiply_pixel_reference(guint32 pixel)
{
  guint32 a = pixel >> 24;
  if (a == 0 || a == 255)
    return pixel;
  return (a << 24) | (unpremultiply_channel((pixel >> 16) & 0xff, a) << 16) |
         (unpremultiply_channel((pixel >> 8) & 0xff, a) << 8) |
         unpremultiply_channel(pixel & 0xff, a);
}

void unpremultiply_rows(const guint8 *src, guint8 *dst, gint stride, gint width, gint y0, gint y1)
{
  for (gint y = y0; y < y1; y++)
    unpremultiply_row(reinterpret_cast<const guint32 *>(src + (gsize)y * stride),
                      reinterpret_cast<guint32 *>(dst + (gsize)y * stride), width, false);
}

void unpremultiply_rows_reference(const guint8 *src, guint8 *dst, gint stride, gint width, gint y0,
                                  gint y1)
{
  for (gint y = y0; y < y1; y++) {
    for (gint x = 0; x < width; x++) {
      guint32 pixel;
      memcpy(&pixel, src + (gsize)y * stride + 4 * x, 4);
      pixel = unpremultiply_pixel_reference(pixel);
      memcpy(dst + (gsize)y * stride + 4 * x, &pixel, 4);
    }
  }
}

void copy_rows_straight_alpha(const guint8 *src, guint8 *dst, gint stride, gint width, gint height)
{
  const bool stream = stream_frame(dst, stride, (gsize)stride * height);
  write_straight_rows(src, dst, stride, width, 0, height, stream, true);
  stream_fence(stream);
}

GstBuffer *straight_alpha_copy(GstBuffer *canvas, gint width, gint height, GstBufferPool *pool)
{
  GstMapInfo in, out;
  if (!gst_buffer_map(canvas, &in, GST_MAP_READ))
    return nullptr;
  GstBuffer *frame = alloc_frame(pool, in.size);
  if (!gst_buffer_map(frame, &out, GST_MAP_WRITE)) {
    gst_buffer_unmap(canvas, &in);
    gst_buffer_unref(frame);
    return nullptr;
  }
  copy_rows_straight_alpha(in.data, out.data, stride_for_width(width), width, height);
  gst_buffer_unmap(frame, &out);
  gst_buffer_unmap(canvas, &in);
  return frame;
}

/* ------------------------------------------------------------------------ */
/* Frame memory */

namespace
{

constexpr gsize HUGE_PAGE = 2 * 1024 * 1024;

gsize round_up_huge(gsize n)
{
  return (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

#if defined(__linux__) && defined(MADV_HUGEPAGE)
struct HugeBlock {
  void *base;
  gsize length;
};

void huge_block_free(gpointer data)
{
  auto *block = static_cast<HugeBlock *>(data);
  munmap(block->base, block->length);
  g_free(block);
}

/* @maxsize bytes on a 2 MB boundary, advised for huge pages before the first
 * touch (the pages are faulted in as huge ones), or NULL. */
HugeBlock *huge_block_new(gsize maxsize)
{
  const gsize length = round_up_huge(maxsize);
  const gsize span = length + HUGE_PAGE;
  void *p = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return nullptr;
  const guintptr start = reinterpret_cast<guintptr>(p);
  const guintptr aligned = (start + HUGE_PAGE - 1) & ~(guintptr)(HUGE_PAGE - 1);
  if (aligned > start)
    munmap(p, aligned - start);
  if (start + span > aligned + length)
    munmap(reinterpret_cast<void *>(aligned + length), start + span - (aligned + length));
  void *base = reinterpret_cast<void *>(aligned);
  madvise(base, length, MADV_HUGEPAGE); /* advice only: small pages if refused */
  auto *block = g_new(HugeBlock, 1);
  block->base = base;
  block->length = length;
  return block;
}
#endif

/* A GstAllocator subclass whose memory is the default allocator's memory
 * type (wrapped), so that it maps, copies and shares as system memory. */
struct FrameAllocator {
  GstAllocator parent;
};
struct FrameAllocatorClass {
  GstAllocatorClass parent_class;
};

GstMemory *frame_allocator_alloc(GstAllocator *, gsize size, GstAllocationParams *params)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const gsize maxsize = params->prefix + size + params->padding;
  if (uses_huge_pages(maxsize) && params->align < HUGE_PAGE) {
    HugeBlock *block = huge_block_new(maxsize);
    if (block)
      return gst_memory_new_wrapped(params->flags, block->base, maxsize, params->prefix, size,
                                    block, huge_block_free);
  }
#endif
  return gst_allocator_alloc(nullptr, size, params);
}

/* Never called: every memory handed out belongs to the default allocator. */
void frame_allocator_free(GstAllocator *, GstMemory *) {}

void frame_allocator_class_init(gpointer klass, gpointer)
{
  auto *allocator_class = GST_ALLOCATOR_CLASS(klass);
  allocator_class->alloc = GST_DEBUG_FUNCPTR(frame_allocator_alloc);
  allocator_class->free = GST_DEBUG_FUNCPTR(frame_allocator_free);
}

GType frame_allocator_get_type()
{
  static gsize type = 0;
  if (g_once_init_enter(&type)) {
    /* The pixel code is linked into the plugin and into its unit tests, which
     * load the plugin too: one registration serves both copies. */
    const gchar *name = "GstCanvasFrameAllocator";
    GType t = g_type_from_name(name);
    if (!t)
      t = g_type_register_static_simple(GST_TYPE_ALLOCATOR, name, sizeof(FrameAllocatorClass),
                                        frame_allocator_class_init, sizeof(FrameAllocator), nullptr,
                                        (GTypeFlags)0);
    g_once_init_leave(&type, t);
  }
  return type;
}

} // namespace

bool uses_huge_pages(gsize maxsize)
{
  return maxsize >= HUGE_PAGE && round_up_huge(maxsize) - maxsize <= maxsize / 4;
}

GstAllocator *frame_allocator()
{
  static GstAllocator *allocator = nullptr;
  if (g_once_init_enter(&allocator)) {
    auto *a = GST_ALLOCATOR(g_object_new(frame_allocator_get_type(), nullptr));
    gst_object_ref_sink(a);
    a->mem_type = GST_ALLOCATOR_SYSMEM;
    /* Kept for the life of the process, as the default allocator is. */
    GST_OBJECT_FLAG_SET(a, GST_OBJECT_FLAG_MAY_BE_LEAKED);
    g_once_init_leave(&allocator, a);
  }
  return allocator;
}

bool buffer_is_exclusive(GstBuffer *buffer)
{
  if (!gst_buffer_is_writable(buffer) || gst_buffer_n_memory(buffer) != 1)
    return false;
  GstMemory *mem = gst_buffer_peek_memory(buffer, 0);
  return gst_memory_is_writable(mem) && !GST_MEMORY_IS_READONLY(mem) &&
         GST_MINI_OBJECT_REFCOUNT_VALUE(mem) == 1;
}

GstBuffer *alloc_frame(GstBufferPool *pool, gsize size)
{
  GstBuffer *buffer = nullptr;

  /* Never waits for downstream to release a buffer (a bounded pool): then,
   * as with a pool configured for other caps (buffers of another size, which
   * go back; checked on the buffer, cheaper than reading the pool's
   * configuration each frame), the frame is allocated. */
  GstBufferPoolAcquireParams params = {};
  params.flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT;
  if (pool && gst_buffer_pool_is_active(pool) &&
      gst_buffer_pool_acquire_buffer(pool, &buffer, &params) != GST_FLOW_OK)
    buffer = nullptr;
  if (buffer && (gst_buffer_get_size(buffer) != size || gst_buffer_n_memory(buffer) != 1)) {
    gst_buffer_unref(buffer);
    buffer = nullptr;
  }
  if (!buffer)
    buffer = gst_buffer_new_allocate(frame_allocator(), size, nullptr);
  return buffer;
}

GstBuffer *copy_frame(GstBuffer *src, GstBufferPool *pool, CopyUse use)
{
  GstMapInfo in, out;
  if (!gst_buffer_map(src, &in, GST_MAP_READ))
    return nullptr;
  GstBuffer *copy = alloc_frame(pool, in.size);
  if (!gst_buffer_map(copy, &out, GST_MAP_WRITE)) {
    gst_buffer_unmap(src, &in);
    gst_buffer_unref(copy);
    return nullptr;
  }
  if (use == CopyUse::Frame)
    stream_bytes(out.data, in.data, in.size);
  else
    memcpy(out.data, in.data, in.size);
  gst_buffer_unmap(copy, &out);
  gst_buffer_unmap(src, &in);
  return copy;
}

GstBuffer *unpremultiplied_frame(GstBuffer *canvas, gint width, gint height, GstBufferPool *pool,
                                 bool *same_bytes)
{
  *same_bytes = false;
  GstMapInfo in;
  if (!gst_buffer_map(canvas, &in, GST_MAP_READ))
    return nullptr;
  gint stride = stride_for_width(width);
  gint first = first_translucent_row(in.data, stride, width, height);
  if (first == height) {
    gst_buffer_unmap(canvas, &in);
    *same_bytes = true;
    return nullptr;
  }
  /* CC-10: GStreamer's BGRA is straight alpha; Cairo's is premultiplied. */
  GstBuffer *frame = alloc_frame(pool, in.size);
  GstMapInfo out;
  if (!gst_buffer_map(frame, &out, GST_MAP_WRITE)) {
    gst_buffer_unmap(canvas, &in);
    gst_buffer_unref(frame);
    return nullptr;
  }
  /* The frame goes downstream while the canvas stays: streaming stores. */
  const bool stream = stream_frame(out.data, stride, in.size);
  if (stream)
    stream_bytes(out.data, in.data, (gsize)first * stride);
  else
    memcpy(out.data, in.data, (gsize)first * stride);
  write_straight_rows(in.data, out.data, stride, width, first, height, stream, false);
  stream_fence(stream);
  gst_buffer_unmap(frame, &out);
  gst_buffer_unmap(canvas, &in);
  return frame;
}

} // namespace canvas_pixels
