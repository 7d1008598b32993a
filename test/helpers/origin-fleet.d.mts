export interface OriginFleet {
  url: string;
  origins: Map<string, { url: string; name: string; requests: unknown[] }>;
  close(): Promise<void>;
}
export function startOriginFleet(): Promise<OriginFleet>;
