/* gst-montage library: include this to get everything. */
#pragma once

#include <gst/montage/types.h>
#include <gst/montage/beattracker.h>
#include <gst/montage/scenedetector.h>
#include <gst/montage/planner.h>
#include <gst/montage/planjson.h>
#include <gst/montage/encoder.h>
#include <gst/montage/render.h>
#include <gst/montage/cache.h>
#include <gst/montage/storyboard.h>
#include <gst/montage/selection.h>
#include <gst/montage/style.h>
#include <gst/montage/export.h>
#include <gst/montage/beatmeta.h>
#include <gst/montage/shotmeta.h>
#include <gst/montage/shotdetector.h>
#include <gst/montage/clipanalysis.h>
#include <gst/montage/adts.h>
#include <gst/montage/mp4priming.h>
#include <gst/montage/keyunit.h>
#include <gst/montage/heldevents.h>
