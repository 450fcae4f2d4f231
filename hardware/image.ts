// Image decoding and conversion live in lib/model/image-input (split-head, eval and the
// camera share them); the camera code and older scripts import them from here.
export {
  Image, FrameShape, Fit, ConvertOptions, RawFormat, ImageError, imageKind, decodeImage, rawImage, toFrame, encodePng, imageToFrame, frameConversion,
} from '../lib/model/image-input';
