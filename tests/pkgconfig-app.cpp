/* An application of the library as pkg-config describes it: built by
 * check-pkgconfig.sh with nothing but `pkg-config --cflags --libs
 * gstmontage-1.0`. It includes everything montage.h promises and uses
 * cv::Mat, which the public headers hand out (scenedetector.h). */
#include <gst/montage/montage.h>

int main(int argc, char **argv)
{
  gst_init(&argc, &argv);
  cv::Mat frame(2, 2, CV_8UC1, cv::Scalar(7));
  montage::ShotFeatures features;
  return frame.at<unsigned char>(1, 1) == 7 && features.motion_mean == 0.0 ? 0 : 1;
}
