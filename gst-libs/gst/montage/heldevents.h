/* gst-montage: serialized events kept in their place behind held buffers.
 *
 * An element that holds buffers back (montagescene's look-ahead frames,
 * montagebeat's live-delay of audio) must not let a serialized event that
 * arrives meanwhile (GAP, TAG, a custom event, an upstream force-key-unit)
 * overtake them downstream. Such an element keeps the events that arrive
 * after its last held buffer in one HeldEvents, moves them (take()) onto the
 * next buffer it holds, and pushes a buffer's events (push()) just before it
 * pushes the buffer; whatever waits when it drains goes after the last buffer.
 * Header-only (GStreamer core alone), for both element libraries.
 *
 * A HeldEvents owns its events: destroying or clear()ing it unrefs them
 * (a flush drops them with the buffers). Not thread-safe: the streaming
 * thread alone, under the sink pad's stream lock. */
#pragma once

#include <gst/gst.h>

#include <vector>

namespace montage
{

class HeldEvents
{
public:
  HeldEvents() = default;
  HeldEvents(const HeldEvents &) = delete;
  HeldEvents &operator=(const HeldEvents &) = delete;
  HeldEvents(HeldEvents &&other) noexcept { events_.swap(other.events_); }
  HeldEvents &operator=(HeldEvents &&other) noexcept
  {
    if (this != &other) {
      clear();
      events_.swap(other.events_);
    }
    return *this;
  }
  ~HeldEvents() { clear(); }

  bool empty() const { return events_.empty(); }
  /* Keeps `event` (taking the caller's reference) after those already kept. */
  void add(GstEvent *event) { events_.push_back(event); }
  /* Hands every kept event over, leaving this one empty. */
  HeldEvents take()
  {
    HeldEvents out;
    out.events_.swap(events_);
    return out;
  }
  /* Pushes every kept event out of `pad`, in order, leaving this one empty. */
  void push(GstPad *pad)
  {
    std::vector<GstEvent *> out;
    out.swap(events_);
    for (GstEvent *e : out)
      gst_pad_push_event(pad, e);
  }
  /* Drops every kept event. */
  void clear()
  {
    for (GstEvent *e : events_)
      gst_event_unref(e);
    events_.clear();
  }

private:
  std::vector<GstEvent *> events_;
};

} // namespace montage
