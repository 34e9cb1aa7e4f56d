/**
 * The OPCP edge: Hubject's OPCP 1.0 REST API in front of the pools (gateway), a client for any OPCP
 * endpoint, OAuth2 client credentials, and the OpenAPI files the gateway is routed and validated by.
 */
export { startOpcpGateway, DEFAULT_OPCP_PORT, type OpcpGateway, type OpcpGatewayOptions } from './gateway.ts';
export { OpcpClient, type OpcpClientOptions, type OpcpResponse } from './client.ts';
export { OAuthService, OAUTH_ROLES, OPCP_SCOPE, DEFAULT_TOKEN_TTL_SECONDS, type OAuthRole, type OAuthOptions, type IssuedToken } from './auth.ts';
export { loadOpcpApis, loadOpcpDocument, OPCP_ERRATA, OPCP_SPEC_FILES, type OpcpService } from './spec.ts';
export { OPCP_ROUTES, httpStatusOf } from './routes.ts';
export { errorBody } from './errors.ts';
export { signedContractXml, readSignedContractXml } from './signed-xml.ts';
