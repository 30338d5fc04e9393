// Label selectors as the Hetzner Cloud API takes them in `label_selector`.

/** A label selector (`k1=v1,k2=v2`) matching resources that carry all of `labels`. */
export function labelSelector(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}
