/* Shared test support of the mediastreambin suites (mediastreambin.cpp,
 * clone.cpp, constraints_apply.cpp): the bin, its track pads and harnesses,
 * the "mediastream-track" bus messages, and two fixtures that own what a test
 * sets up and release it when they go out of scope: MsBinFixture (a bin, its
 * bus, harnesses and pads) and MsPipelineFixture (a parsed pipeline, its
 * mediastreambin and pads).
 * Rules: docs/plugins/mediastreambin.md.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "webcapture-check.h"

#include <vector>

/* A new mediastreambin (floating); fails the test when it is not found. */
GstElement *ms_make_bin();

/* The static pad @name of @ms (a new reference); fails the test without one. */
GstPad *ms_track_pad(GstElement *ms, const char *name);

/* A harness on track @index of @kind ("video" / "audio"): the sink pad
 * <kind>_sink_<index> fed with @caps, the track pad <kind>_<index> pulled. */
GstHarness *ms_track_harness(GstElement *ms, const char *kind, guint index, const char *caps);

/* Element messages "mediastream-track" with event=@event on @bus; drains
 * the bus (every message is popped, "" counts none and just drains). */
int ms_count_track_messages(GstBus *bus, const char *event);

/* TRUE for a lower-case RFC 4122 version 4 UUID (a track id). */
bool ms_is_uuid_v4(const char *s);

/* A bin with, optionally, its own bus, and the harnesses and pads a test
 * makes on it. The destructor unrefs the pads (the last taken first), tears
 * the harnesses down (the last made first), detaches and unrefs the bus,
 * then unrefs the bin: the order the suites' tests used by hand. */
struct MsBinFixture {
  explicit MsBinFixture(bool with_bus = false);
  ~MsBinFixture();
  MsBinFixture(const MsBinFixture &) = delete;
  MsBinFixture &operator=(const MsBinFixture &) = delete;

  /* ms_track_harness(), owned by the fixture. */
  GstHarness *harness(const char *kind, guint index, const char *caps);
  /* A harness reading the track pad @src (no input), owned. */
  GstHarness *output(const char *src);
  /* ms_track_pad(), owned. */
  GstPad *pad(const char *name);
  /* Takes @pad's reference (NULL is allowed); returns @pad. */
  GstPad *own(GstPad *pad);

  GstElement *ms = nullptr;
  GstBus *bus = nullptr;

private:
  std::vector<GstHarness *> harnesses_;
  std::vector<GstPad *> pads_;
};

/* A pipeline from gst_parse_launch(@description) with a mediastreambin named
 * "ms", and the pads a test takes of it. The destructor unrefs the pads (the
 * last taken first), the bin, then the pipeline; the test sets the pipeline
 * to NULL itself before the end. */
struct MsPipelineFixture {
  explicit MsPipelineFixture(const char *description);
  ~MsPipelineFixture();
  MsPipelineFixture(const MsPipelineFixture &) = delete;
  MsPipelineFixture &operator=(const MsPipelineFixture &) = delete;

  /* ms_track_pad() of the bin, owned by the fixture. */
  GstPad *pad(const char *name);

  GstElement *pipeline = nullptr;
  GstElement *ms = nullptr;

private:
  std::vector<GstPad *> pads_;
};
