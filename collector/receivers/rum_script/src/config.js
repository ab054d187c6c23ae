// The script's configuration, read from its own <script> tag (see sloscope.rum.snippet).

/** The tag that loaded this script: currentScript while it runs, else found by attribute. */
export function findTag(doc) {
  return doc.currentScript || doc.querySelector('script[data-beacon-url]');
}

/** {beaconUrl, appKey, page, sampleRate} from the tag's data-* attributes. */
export function readConfig(tag) {
  const data = (tag && tag.dataset) || {};
  const rate = parseFloat(data.sampleRate);
  return {
    beaconUrl: data.beaconUrl || '',
    appKey: data.appKey || '',
    page: data.page && data.page.charAt(0) === '/' ? data.page : '',
    sampleRate: rate >= 0 ? Math.min(rate, 1) : 1,
  };
}
